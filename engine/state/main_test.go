package state

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/policies"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// t0 is a fixed event time on an hour boundary.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func pd(d time.Duration) policies.Duration { return policies.Duration(d) }

func ptr(v float64) *float64 { return &v }
