package alerts

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// jsonRenderer renders an alert as its own JSON object.
type jsonRenderer struct{}

func (jsonRenderer) Format() Format { return FormatJSON }

func (jsonRenderer) Append(dst []byte, a *Alert) ([]byte, error) {
	return appendJSON(dst, a)
}

// appendJSON appends v as compact JSON without HTML escaping and without
// the trailing newline json.Encoder writes.
func appendJSON(dst []byte, v any) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, fmt.Errorf("encode %T as JSON: %w", v, err)
	}
	out := buf.Bytes()
	return out[:len(out)-1], nil
}
