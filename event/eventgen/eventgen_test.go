package eventgen

import (
	_ "time/tzdata" // user time zones, wherever the tests run

	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
)

func TestEveryEventIsValid(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		g := New(seed, Options{Users: 100})
		for i, e := range g.Batch(5000) {
			require.NoError(t, e.Validate(), "seed %d event %d", seed, i)
			info, ok := event.LookupAction(e.Event.Action)
			require.True(t, ok)
			require.Equal(t, info.Category, e.Event.Category, "events are normalised")
			require.Equal(t, &info.OCSF, e.Event.OCSF)
		}
	}
}

func TestEveryActionOccurs(t *testing.T) {
	for _, seed := range []int64{1, 99} {
		counts := map[string]int{}
		for _, e := range New(seed, Options{}).Batch(20000) {
			counts[e.Event.Action]++
		}
		for _, a := range event.Actions() {
			require.Positive(t, counts[a.Name], "seed %d never generates %s", seed, a.Name)
		}
		// Ordinary work dominates; the risky actions are rare.
		require.Greater(t, counts[event.ActionWebVisit], 10*counts[event.ActionFileCopiedToRemovable])
	}
}

func TestDeterministic(t *testing.T) {
	a := New(42, Options{Users: 50, Hosts: 10}).Batch(1000)
	b := New(42, Options{Users: 50, Hosts: 10}).Batch(1000)
	require.Equal(t, a, b)
	c := New(43, Options{Users: 50, Hosts: 10}).Batch(1000)
	require.NotEqual(t, a, c)

	// Batch is the same as successive calls to Next.
	g := New(42, Options{Users: 50, Hosts: 10})
	for i := range 1000 {
		require.Equal(t, a[i], g.Next())
	}
}

func TestOptions(t *testing.T) {
	start := time.Date(2026, 12, 24, 23, 0, 0, 0, time.UTC)
	events := New(5, Options{Users: 7, Hosts: 3, Start: start, Rate: 2}).Batch(4000)
	users, hosts, ids := map[string]bool{}, map[string]bool{}, map[string]bool{}
	prev := start
	for _, e := range events {
		users[e.User.Name] = true
		hosts[e.Host.Name] = true
		require.False(t, ids[e.Event.ID], "duplicate id %s", e.Event.ID)
		ids[e.Event.ID] = true
		require.False(t, e.Timestamp.Before(prev), "event time goes backwards")
		prev = e.Timestamp
	}
	require.Len(t, users, 7)
	require.Len(t, hosts, 3)
	// 4000 events at 2 per second span about 2000 s.
	span := events[len(events)-1].Timestamp.Sub(start).Seconds()
	require.InDelta(t, 2000, span, 200)
	require.True(t, events[0].Timestamp.After(start) || events[0].Timestamp.Equal(start))

	d := New(5, Options{}).Batch(2000)
	users = map[string]bool{}
	for _, e := range d {
		users[e.User.Name] = true
	}
	require.Greater(t, len(users), 300, "the default population is 1000 users")
	require.Equal(t, DefaultStart.Truncate(time.Hour), d[0].Timestamp.Truncate(time.Hour))
}

// TestRealisticValues checks the mix: personal and cloud destinations among
// corporate ones, USB serials, multi-recipient mail, large print jobs and
// clipboard contents, and activity outside working hours.
func TestRealisticValues(t *testing.T) {
	var (
		personalMail, cloudUploads, corporateSites, pastes, serials, bigPrints int
		bigClipboard, afterHours, maxRecipients, attachments, windowsPaths     int
	)
	for _, e := range New(8, Options{Users: 300}).Batch(20000) {
		if e.Email != nil {
			for _, to := range e.Email.To {
				if hasSuffix(to, "@gmail.com", "@yahoo.com", "@outlook.com", "@proton.me", "@icloud.com", "@hotmail.com", "@gmx.de") {
					personalMail++
				}
			}
			maxRecipients = max(maxRecipients, len(e.Email.To)+len(e.Email.CC)+len(e.Email.BCC))
			attachments += len(e.Email.Attachments)
		}
		if e.Destination != nil {
			switch {
			case e.Event.Action == event.ActionWebUpload && e.Destination.CloudProvider != "":
				cloudUploads++
			case e.Destination.Domain == "pastebin.com":
				pastes++
			case hasSuffix(e.Destination.Domain, ".acme.example"):
				corporateSites++
			}
		}
		if e.Volume != nil && e.Volume.SerialNumber != "" {
			serials++
		}
		if e.Print != nil && e.Print.Pages*e.Print.Copies >= 100 {
			bigPrints++
		}
		if e.Clipboard != nil && e.Clipboard.ContentLength >= 100_000 {
			bigClipboard++
		}
		if e.File != nil && len(e.File.Path) > 3 && e.File.Path[1] == ':' {
			windowsPaths++
		}
		loc, err := time.LoadLocation(e.User.Timezone)
		require.NoError(t, err)
		local := e.Timestamp.In(loc)
		if local.Hour() < 8 || local.Hour() >= 19 || local.Weekday() == time.Saturday || local.Weekday() == time.Sunday {
			afterHours++
		}
	}
	require.Positive(t, personalMail)
	require.Positive(t, cloudUploads)
	require.Positive(t, corporateSites)
	require.Positive(t, pastes)
	require.Positive(t, serials)
	require.Positive(t, bigPrints)
	require.Positive(t, bigClipboard)
	require.Positive(t, attachments)
	require.Positive(t, windowsPaths)
	require.GreaterOrEqual(t, maxRecipients, 20)
	require.Greater(t, afterHours, 20000/10, "users span time zones, so some work happens outside hours")
}

func hasSuffix(s string, suffixes ...string) bool {
	for _, x := range suffixes {
		if len(s) >= len(x) && s[len(s)-len(x):] == x {
			return true
		}
	}
	return false
}

func TestPickCumulative(t *testing.T) {
	cum := []float64{1, 3, 6}
	tests := []struct {
		x    float64
		want int
	}{{0, 0}, {0.16, 0}, {0.17, 1}, {0.49, 1}, {0.5, 2}, {math.Nextafter(1, 0), 2}}
	for _, tt := range tests {
		require.Equal(t, tt.want, pickCumulative(cum, tt.x), "x=%v", tt.x)
	}
}

func BenchmarkNext(b *testing.B) {
	g := New(1, Options{})
	b.ReportAllocs()
	for b.Loop() {
		g.Next()
	}
}
