package browser

import (
	"math"
	"time"
)

// chromeEpochOffset is the number of seconds from 1601-01-01 UTC, the epoch
// of the Chromium family's timestamps (Windows FILETIME's, in microseconds),
// to the Unix epoch.
const chromeEpochOffset = 11644473600

// FromChromeTime converts a Chromium timestamp (microseconds since
// 1601-01-01 UTC) to a time. Zero and negative values, which the browsers
// write for "never", give the zero time.
func FromChromeTime(us int64) time.Time {
	if us <= 0 {
		return time.Time{}
	}
	return time.Unix(us/1e6-chromeEpochOffset, (us%1e6)*1e3).UTC()
}

// ToChromeTime converts t to a Chromium timestamp, truncated to the
// microsecond. The zero time and times before 1601 give 0; times too far
// in the future for an int64 give math.MaxInt64.
func ToChromeTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	sec := t.Unix()
	switch {
	case sec < -chromeEpochOffset:
		return 0
	case sec > math.MaxInt64/1_000_000:
		return math.MaxInt64
	}
	return microsSaturating(sec+chromeEpochOffset, t.Nanosecond())
}

// FromFirefoxTime converts a Firefox PRTime (microseconds since the Unix
// epoch) to a time. Zero and negative values give the zero time.
func FromFirefoxTime(us int64) time.Time {
	if us <= 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// ToFirefoxTime converts t to a Firefox PRTime, truncated to the
// microsecond. The zero time and times before 1970 give 0; times too far in
// the future for an int64 give math.MaxInt64.
func ToFirefoxTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	sec := t.Unix()
	if sec < 0 {
		return 0
	}
	return microsSaturating(sec, t.Nanosecond())
}

// microsSaturating returns sec seconds and nsec nanoseconds (sec >= 0) in
// microseconds, or math.MaxInt64 when that does not fit.
func microsSaturating(sec int64, nsec int) int64 {
	if sec > math.MaxInt64/1_000_000 {
		return math.MaxInt64
	}
	base, us := sec*1_000_000, int64(nsec/1000)
	if us > math.MaxInt64-base {
		return math.MaxInt64
	}
	return base + us
}
