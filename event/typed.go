package event

import (
	"fmt"
	"time"
)

// FloatAccessor reads a number field without allocating.
type FloatAccessor func(e *Event) (float64, bool)

// BoolAccessor reads a boolean field without allocating.
type BoolAccessor func(e *Event) (bool, bool)

// TimeAccessor reads a timestamp field without allocating.
type TimeAccessor func(e *Event) (time.Time, bool)

// StringsAccessor reads an array-of-strings field; the slice shares memory
// with the event and must not be modified.
type StringsAccessor func(e *Event) ([]string, bool)

// IntsAccessor reads an array-of-integers field; the slice shares memory
// with the event and must not be modified.
type IntsAccessor func(e *Event) ([]int64, bool)

func typedGetter(path string, want FieldType) (getter, error) {
	g, ok := lookupGetter(path)
	if !ok {
		return getter{}, unknownField(path)
	}
	if g.typ != want {
		return getter{}, fmt.Errorf("field %q holds %v, not %v", path, g.typ, want)
	}
	return g, nil
}

// NewFloatAccessor returns the accessor for the number field at path.
func NewFloatAccessor(path string) (FloatAccessor, error) {
	g, err := typedGetter(path, FieldFloat)
	return g.f64, err
}

// NewBoolAccessor returns the accessor for the boolean field at path.
func NewBoolAccessor(path string) (BoolAccessor, error) {
	g, err := typedGetter(path, FieldBool)
	return g.b, err
}

// NewTimeAccessor returns the accessor for the timestamp field at path.
func NewTimeAccessor(path string) (TimeAccessor, error) {
	g, err := typedGetter(path, FieldTime)
	return g.t, err
}

// NewStringsAccessor returns the accessor for the array-of-strings field at
// path.
func NewStringsAccessor(path string) (StringsAccessor, error) {
	g, err := typedGetter(path, FieldStrings)
	return g.strs, err
}

// NewIntsAccessor returns the accessor for the array-of-integers field at
// path.
func NewIntsAccessor(path string) (IntsAccessor, error) {
	g, err := typedGetter(path, FieldInts)
	return g.ints, err
}
