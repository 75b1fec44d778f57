package policies

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ErrBadDuration is returned for a duration that cannot be parsed.
var ErrBadDuration = errors.New("bad duration")

// ParseDuration parses durations such as "90s", "10m", "1h30m", "7d" and "2w".
// Days are 24 hours and weeks 7 days, on event time.
func ParseDuration(s string) (Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("%w: empty", ErrBadDuration)
	}
	var total time.Duration
	rest := in
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("%w: %q: expected a number", ErrBadDuration, in)
		}
		j := i
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') && rest[j] != '.' {
			j++
		}
		num, unit := rest[:i], rest[i:j]
		rest = rest[j:]
		n, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %q: %w", ErrBadDuration, in, err)
		}
		var mult time.Duration
		switch unit {
		case "w":
			mult = 7 * 24 * time.Hour
		case "d":
			mult = 24 * time.Hour
		case "h":
			mult = time.Hour
		case "m":
			mult = time.Minute
		case "s":
			mult = time.Second
		case "ms":
			mult = time.Millisecond
		case "":
			return 0, fmt.Errorf("%w: %q: missing unit (use s, m, h, d or w)", ErrBadDuration, in)
		default:
			return 0, fmt.Errorf("%w: %q: unknown unit %q (use s, m, h, d or w)", ErrBadDuration, in, unit)
		}
		if n > float64(1<<62)/float64(mult) {
			return 0, fmt.Errorf("%w: %q: too large", ErrBadDuration, in)
		}
		total += time.Duration(n * float64(mult))
	}
	if total < 0 {
		return 0, fmt.Errorf("%w: %q: negative", ErrBadDuration, in)
	}
	return Duration(total), nil
}

// String renders the duration with the largest whole unit (d, h, m, s).
func (d Duration) String() string {
	t := time.Duration(d)
	switch {
	case t == 0:
		return "0s"
	case t%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(t/(24*time.Hour)), 10) + "d"
	case t%time.Hour == 0:
		return strconv.FormatInt(int64(t/time.Hour), 10) + "h"
	case t%time.Minute == 0:
		return strconv.FormatInt(int64(t/time.Minute), 10) + "m"
	}
	return t.String()
}

// MarshalJSON writes the duration as a string such as "10m".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string such as "10m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w: want a string such as \"10m\"", ErrBadDuration)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// UnmarshalYAML reads a duration string such as "10m".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("%w: want a string such as \"10m\"", ErrBadDuration)
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes the duration as a string such as "10m".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func itoa(i int) string { return strconv.Itoa(i) }
