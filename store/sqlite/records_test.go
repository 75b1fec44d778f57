package sqlite

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/store"
)

// decision returns an alerting decision record at t.
func decision(id string, t time.Time, user string, rules ...string) store.DecisionRecord {
	return store.DecisionRecord{
		ID: id, Time: t, EventID: "ev-" + id, Action: "file-copied-to-removable", User: user, Host: "ws-" + user,
		BundleName: "library", BundleRevision: "r1", Alert: true, Severity: "high", RiskScore: 70,
		RuleIDs:  rules,
		Decision: json.RawMessage(`{"decision_id":"` + id + `","alert":true}`),
	}
}

func TestDecisions(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	ds := db.Decisions()
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

	var all []store.DecisionRecord
	for i := range 30 {
		d := decision(fmt.Sprintf("d%02d", i), t0.Add(time.Duration(i)*time.Minute), []string{"jdoe", "asmith", "bwu"}[i%3],
			[]string{"usb-mass-copy", "after-hours"}[:1+i%2]...)
		d.Alert = i%4 != 0
		if i%5 == 0 {
			d.BundleName = "custom"
		}
		require.NoError(t, ds.Put(ctx, d))
		all = append(all, d)
	}
	// Put is idempotent: the first record stays.
	changed := all[0]
	changed.Severity = "critical"
	require.NoError(t, ds.Put(ctx, changed))
	got, err := ds.Get(ctx, "d00")
	require.NoError(t, err)
	require.Equal(t, all[0], got)
	require.Equal(t, 30, count(t, db, "decisions"))

	_, err = ds.Get(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, ds.Put(ctx, store.DecisionRecord{}), store.ErrInvalid)
	bad := decision("bad", t0, "x")
	bad.Decision = json.RawMessage(`{"unterminated`)
	require.ErrorIs(t, ds.Put(ctx, bad), store.ErrInvalid)
	bare := store.DecisionRecord{ID: "bare", Time: t0}
	require.NoError(t, ds.Put(ctx, bare))
	got, err = ds.Get(ctx, "bare")
	require.NoError(t, err)
	require.Equal(t, bare, got)
	require.NoError(t, ds.Put(ctx, store.DecisionRecord{ID: "timeless"}))
	got, err = ds.Get(ctx, "timeless")
	require.NoError(t, err)
	require.Equal(t, clk.Now(), got.Time, "zero time means now")

	list := func(f store.DecisionFilter) []string {
		var ids []string
		for {
			page, next, err := ds.List(ctx, f)
			require.NoError(t, err)
			require.LessOrEqual(t, len(page), store.PageLimit(f.Limit))
			for _, d := range page {
				ids = append(ids, d.ID)
			}
			if next == "" {
				return ids
			}
			f.Cursor = next
		}
	}
	want := func(keep func(i int, d store.DecisionRecord) bool) []string {
		var ids []string
		for i := len(all) - 1; i >= 0; i-- { // newest first
			if keep(i, all[i]) {
				ids = append(ids, all[i].ID)
			}
		}
		return ids
	}
	tests := []struct {
		name string
		f    store.DecisionFilter
		keep func(i int, d store.DecisionRecord) bool
	}{
		{"user", store.DecisionFilter{User: "jdoe", Limit: 3}, func(_ int, d store.DecisionRecord) bool { return d.User == "jdoe" }},
		{"host", store.DecisionFilter{Host: "ws-bwu", Limit: 4}, func(_ int, d store.DecisionRecord) bool { return d.Host == "ws-bwu" }},
		{"bundle", store.DecisionFilter{Bundle: "custom"}, func(_ int, d store.DecisionRecord) bool { return d.BundleName == "custom" }},
		{"rule", store.DecisionFilter{Rule: "after-hours", Limit: 2}, func(i int, _ store.DecisionRecord) bool { return i%2 == 1 }},
		{"alerts only", store.DecisionFilter{AlertsOnly: true, Limit: 5}, func(_ int, d store.DecisionRecord) bool { return d.Alert }},
		{"time", store.DecisionFilter{From: t0.Add(5 * time.Minute), To: t0.Add(10 * time.Minute)}, func(i int, _ store.DecisionRecord) bool { return i >= 5 && i < 10 }},
	}
	for _, tt := range tests {
		require.Equal(t, want(tt.keep), list(tt.f), tt.name)
	}
	_, _, err = ds.List(ctx, store.DecisionFilter{Cursor: "%%%"})
	require.ErrorIs(t, err, store.ErrInvalid)
}

func TestAlertCreateDedupes(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	d := decision("d1", clk.Now().Add(-time.Minute), "jdoe", "usb-mass-copy", "leaver")

	a, created, err := db.Alerts().Create(ctx, d)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, store.StatusOpen, a.Status)
	require.Equal(t, "d1", a.DecisionID)
	require.Equal(t, []string{"usb-mass-copy", "leaver"}, a.RuleIDs)
	require.Len(t, a.ID, 26)

	clk.Add(time.Minute)
	again, created, err := db.Alerts().Create(ctx, d)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, a, again)

	got, err := db.Alerts().Get(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, a, got)
	require.Equal(t, 1, count(t, db, "alerts"))

	notAlert := decision("d2", clk.Now(), "jdoe")
	notAlert.Alert = false
	_, _, err = db.Alerts().Create(ctx, notAlert)
	require.ErrorIs(t, err, store.ErrInvalid)
	_, _, err = db.Alerts().Create(ctx, store.DecisionRecord{Alert: true})
	require.ErrorIs(t, err, store.ErrInvalid)
	_, err = db.Alerts().Get(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	// Many concurrent creations from one decision make one alert.
	d3 := decision("d3", clk.Now(), "asmith")
	ids := make(chan string, 10)
	for range 10 {
		go func() {
			a, _, err := db.Alerts().Create(ctx, d3)
			if err != nil {
				ids <- err.Error()
				return
			}
			ids <- a.ID
		}()
	}
	first := <-ids
	for range 9 {
		require.Equal(t, first, <-ids)
	}
	require.Equal(t, 2, count(t, db, "alerts"))
}

func TestAlertTransitions(t *testing.T) {
	tests := []struct {
		from, to store.AlertStatus
		ok       bool
	}{
		{store.StatusOpen, store.StatusAcknowledged, true},
		{store.StatusOpen, store.StatusResolved, false},
		{store.StatusOpen, store.StatusFalsePositive, false},
		{store.StatusOpen, store.StatusOpen, false},
		{store.StatusAcknowledged, store.StatusResolved, true},
		{store.StatusAcknowledged, store.StatusFalsePositive, true},
		{store.StatusAcknowledged, store.StatusOpen, false},
		{store.StatusAcknowledged, store.StatusAcknowledged, false},
		{store.StatusResolved, store.StatusOpen, false},
		{store.StatusResolved, store.StatusAcknowledged, false},
		{store.StatusResolved, store.StatusFalsePositive, false},
		{store.StatusResolved, store.StatusResolved, false},
		{store.StatusFalsePositive, store.StatusOpen, false},
		{store.StatusFalsePositive, store.StatusResolved, false},
	}
	// path brings a new alert to a status through allowed transitions.
	path := map[store.AlertStatus][]store.AlertStatus{
		store.StatusOpen:          nil,
		store.StatusAcknowledged:  {store.StatusAcknowledged},
		store.StatusResolved:      {store.StatusAcknowledged, store.StatusResolved},
		store.StatusFalsePositive: {store.StatusAcknowledged, store.StatusFalsePositive},
	}
	ctx := t.Context()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	for i, tt := range tests {
		name := fmt.Sprintf("%s→%s", tt.from, tt.to)
		require.Equal(t, tt.ok, tt.from.CanTransitionTo(tt.to), name)
		a, _, err := db.Alerts().Create(ctx, decision(fmt.Sprintf("t%d", i), clk.Now(), "jdoe"))
		require.NoError(t, err)
		for _, st := range path[tt.from] {
			_, err := db.Alerts().Update(ctx, a.ID, store.AlertUpdate{Actor: "setup", Status: st})
			require.NoError(t, err, name)
		}
		before, err := db.Alerts().Get(ctx, a.ID)
		require.NoError(t, err)
		history, err := db.Alerts().History(ctx, a.ID)
		require.NoError(t, err)
		clk.Add(time.Second)

		got, err := db.Alerts().Update(ctx, a.ID, store.AlertUpdate{Actor: "analyst", Status: tt.to, Comment: "why"})
		if !tt.ok {
			require.ErrorIs(t, err, store.ErrInvalidTransition, name)
			after, err := db.Alerts().Get(ctx, a.ID)
			require.NoError(t, err)
			require.Equal(t, before, after, "%s: a refused transition changes nothing", name)
			h, err := db.Alerts().History(ctx, a.ID)
			require.NoError(t, err)
			require.Equal(t, history, h, name)
			continue
		}
		require.NoError(t, err, name)
		require.Equal(t, tt.to, got.Status)
		require.Equal(t, clk.Now(), got.Updated)
		stored, err := db.Alerts().Get(ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, got, stored)
		h, err := db.Alerts().History(ctx, a.ID)
		require.NoError(t, err)
		require.Len(t, h, len(history)+1)
		require.Equal(t, store.AlertChange{Time: clk.Now(), Actor: "analyst", FromStatus: tt.from, ToStatus: tt.to, Comment: "why"}, h[len(h)-1])
	}
}

func TestAlertUpdateAssignCommentHistory(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	al := db.Alerts()
	a, _, err := al.Create(ctx, decision("d1", clk.Now(), "jdoe"))
	require.NoError(t, err)
	created := clk.Now()
	ann, empty := "ann", ""

	clk.Add(time.Minute)
	a, err = al.Update(ctx, a.ID, store.AlertUpdate{Actor: "lead", Assignee: &ann})
	require.NoError(t, err)
	require.Equal(t, "ann", a.Assignee)
	require.Equal(t, store.StatusOpen, a.Status)
	clk.Add(time.Minute)
	a, err = al.Update(ctx, a.ID, store.AlertUpdate{Actor: "ann", Status: store.StatusAcknowledged, Comment: "looking"})
	require.NoError(t, err)
	require.Equal(t, "ann", a.Assignee)
	clk.Add(time.Minute)
	_, err = al.Update(ctx, a.ID, store.AlertUpdate{Actor: "ann", Comment: "USB serial is not on the allow list"})
	require.NoError(t, err)
	clk.Add(time.Minute)
	a, err = al.Update(ctx, a.ID, store.AlertUpdate{Actor: "ann", Status: store.StatusResolved, Assignee: &empty, Comment: "done"})
	require.NoError(t, err)
	require.Empty(t, a.Assignee)

	h, err := al.History(ctx, a.ID)
	require.NoError(t, err)
	at := func(m int) time.Time { return created.Add(time.Duration(m) * time.Minute) }
	require.Equal(t, []store.AlertChange{
		{Time: at(0), Actor: systemActor, ToStatus: store.StatusOpen, Comment: "raised by decision d1"},
		{Time: at(1), Actor: "lead", FromStatus: store.StatusOpen, ToStatus: store.StatusOpen, Assignee: "ann"},
		{Time: at(2), Actor: "ann", FromStatus: store.StatusOpen, ToStatus: store.StatusAcknowledged, Assignee: "ann", Comment: "looking"},
		{Time: at(3), Actor: "ann", FromStatus: store.StatusAcknowledged, ToStatus: store.StatusAcknowledged, Assignee: "ann", Comment: "USB serial is not on the allow list"},
		{Time: at(4), Actor: "ann", FromStatus: store.StatusAcknowledged, ToStatus: store.StatusResolved, Comment: "done"},
	}, h)

	for name, u := range map[string]store.AlertUpdate{
		"no actor":       {Status: store.StatusAcknowledged},
		"nothing":        {Actor: "x"},
		"unknown status": {Actor: "x", Status: "closed"},
	} {
		_, err := al.Update(ctx, a.ID, u)
		require.ErrorIs(t, err, store.ErrInvalid, name)
	}
	_, err = al.Update(ctx, "nope", store.AlertUpdate{Actor: "x", Comment: "c"})
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = al.History(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// TestAlertConcurrentAcknowledge has many analysts acknowledge one alert
// at once: exactly one wins, the others see an invalid transition.
func TestAlertConcurrentAcknowledge(t *testing.T) {
	ctx := t.Context()
	db, _ := openTest(t, Options{})
	a, _, err := db.Alerts().Create(ctx, decision("d1", time.Now(), "jdoe"))
	require.NoError(t, err)
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			_, err := db.Alerts().Update(ctx, a.ID, store.AlertUpdate{Actor: fmt.Sprint("analyst-", i), Status: store.StatusAcknowledged})
			errs <- err
		}()
	}
	ok := 0
	for range 16 {
		err := <-errs
		if err == nil {
			ok++
			continue
		}
		require.ErrorIs(t, err, store.ErrInvalidTransition)
	}
	require.Equal(t, 1, ok)
	h, err := db.Alerts().History(ctx, a.ID)
	require.NoError(t, err)
	require.Len(t, h, 2)
}

func TestAlertList(t *testing.T) {
	ctx := t.Context()
	db, _ := openTest(t, Options{})
	al := db.Alerts()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	users := []string{"jdoe", "asmith", "bwu"}
	sev := []string{"low", "medium", "high", "critical"}
	var all []store.Alert
	for i := range 40 {
		d := decision(fmt.Sprintf("d%02d", i), t0.Add(time.Duration(i)*time.Hour), users[i%3], []string{"usb-mass-copy", "print-volume"}[i%2])
		d.Severity = sev[i%4]
		a, _, err := al.Create(ctx, d)
		require.NoError(t, err)
		if i%5 == 0 {
			bob := "bob"
			a, err = al.Update(ctx, a.ID, store.AlertUpdate{Actor: "x", Status: store.StatusAcknowledged, Assignee: &bob})
			require.NoError(t, err)
		}
		all = append(all, a)
	}
	list := func(f store.AlertFilter) []string {
		var ids []string
		for {
			page, next, err := al.List(ctx, f)
			require.NoError(t, err)
			for _, a := range page {
				ids = append(ids, a.ID)
			}
			if next == "" {
				return ids
			}
			f.Cursor = next
		}
	}
	want := func(keep func(i int) bool) []string {
		var ids []string
		for i := len(all) - 1; i >= 0; i-- {
			if keep(i) {
				ids = append(ids, all[i].ID)
			}
		}
		return ids
	}
	tests := []struct {
		name string
		f    store.AlertFilter
		keep func(i int) bool
	}{
		{"all", store.AlertFilter{Limit: 6}, func(int) bool { return true }},
		{"acknowledged", store.AlertFilter{Status: store.StatusAcknowledged, Limit: 3}, func(i int) bool { return i%5 == 0 }},
		{"open", store.AlertFilter{Status: store.StatusOpen}, func(i int) bool { return i%5 != 0 }},
		{"severity", store.AlertFilter{Severity: "critical"}, func(i int) bool { return i%4 == 3 }},
		{"rule", store.AlertFilter{Rule: "print-volume", Limit: 7}, func(i int) bool { return i%2 == 1 }},
		{"user", store.AlertFilter{User: "bwu"}, func(i int) bool { return i%3 == 2 }},
		{"host", store.AlertFilter{Host: "ws-jdoe"}, func(i int) bool { return i%3 == 0 }},
		{"assignee", store.AlertFilter{Assignee: "bob"}, func(i int) bool { return i%5 == 0 }},
		{"time", store.AlertFilter{From: t0.Add(10 * time.Hour), To: t0.Add(20 * time.Hour), Limit: 4}, func(i int) bool { return i >= 10 && i < 20 }},
		{"combined", store.AlertFilter{User: "jdoe", Severity: "low", Status: store.StatusOpen}, func(i int) bool { return i%3 == 0 && i%4 == 0 && i%5 != 0 }},
	}
	for _, tt := range tests {
		require.Equal(t, want(tt.keep), list(tt.f), tt.name)
	}
	_, _, err := al.List(ctx, store.AlertFilter{Status: "closed"})
	require.ErrorIs(t, err, store.ErrInvalid)
}

func TestEvidence(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	ev := db.Evidence()
	r := store.EvidenceRecord{PackageID: "p1", AlertID: "a1", Path: "evidence/a1/p1.zip", SHA256: "ab12", Size: 4096}
	require.NoError(t, ev.Add(ctx, r))
	require.NoError(t, ev.Add(ctx, r), "adding the same record again")
	r.Created = clk.Now()

	got, err := ev.Get(ctx, "p1")
	require.NoError(t, err)
	require.Equal(t, r, got)

	other := r
	other.SHA256 = "cd34"
	require.ErrorIs(t, ev.Add(ctx, other), store.ErrConflict)
	require.ErrorIs(t, ev.Add(ctx, store.EvidenceRecord{AlertID: "a1"}), store.ErrInvalid)
	require.ErrorIs(t, ev.Add(ctx, store.EvidenceRecord{PackageID: "p9"}), store.ErrInvalid)
	require.ErrorIs(t, ev.Add(ctx, store.EvidenceRecord{PackageID: "p9", AlertID: "a", Size: -1}), store.ErrInvalid)

	clk.Add(time.Minute)
	r2 := store.EvidenceRecord{PackageID: "p2", AlertID: "a1", Path: "p2.zip", SHA256: "ef", Size: 1, Created: clk.Now()}
	require.NoError(t, ev.Add(ctx, r2))
	require.NoError(t, ev.Add(ctx, store.EvidenceRecord{PackageID: "p3", AlertID: "a2", Path: "p3.zip"}))
	list, err := ev.List(ctx, "a1")
	require.NoError(t, err)
	require.Equal(t, []store.EvidenceRecord{r, r2}, list)
	list, err = ev.List(ctx, "none")
	require.NoError(t, err)
	require.Empty(t, list)

	verifiedAt := clk.Now().Add(time.Hour)
	require.NoError(t, ev.SetVerified(ctx, "p1", true, verifiedAt))
	got, err = ev.Get(ctx, "p1")
	require.NoError(t, err)
	require.True(t, got.Verified)
	require.Equal(t, verifiedAt, got.VerifiedAt)
	require.NoError(t, ev.SetVerified(ctx, "p1", false, time.Time{}))
	got, err = ev.Get(ctx, "p1")
	require.NoError(t, err)
	require.False(t, got.Verified)
	require.Equal(t, clk.Now(), got.VerifiedAt)

	require.ErrorIs(t, ev.SetVerified(ctx, "nope", true, verifiedAt), store.ErrNotFound)
	_, err = ev.Get(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestBundles(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	bs := db.Bundles()

	_, err := bs.Active(ctx)
	require.ErrorIs(t, err, store.ErrNotFound)

	tar1 := []byte("tarball one")
	sum := sha256.Sum256(tar1)
	r1, err := bs.Upload(ctx, store.BundleUpload{Name: "library", Revision: "v1", Tarball: tar1, UploadedBy: "admin"})
	require.NoError(t, err)
	require.Equal(t, store.BundleRevision{
		Name: "library", Revision: "v1", SHA256: hex.EncodeToString(sum[:]),
		Size: int64(len(tar1)), UploadedBy: "admin", UploadedAt: clk.Now(),
	}, r1)
	require.Equal(t, `"`+hex.EncodeToString(sum[:])+`"`, r1.ETag())

	again, err := bs.Upload(ctx, store.BundleUpload{Name: "library", Revision: "v1", Tarball: tar1, UploadedBy: "someone else"})
	require.NoError(t, err)
	require.Equal(t, r1, again, "uploading the same bytes is a no-op")
	_, err = bs.Upload(ctx, store.BundleUpload{Name: "library", Revision: "v1", Tarball: []byte("other")})
	require.ErrorIs(t, err, store.ErrConflict)
	for _, u := range []store.BundleUpload{{Revision: "v", Tarball: tar1}, {Name: "n", Tarball: tar1}, {Name: "n", Revision: "v"}} {
		_, err = bs.Upload(ctx, u)
		require.ErrorIs(t, err, store.ErrInvalid)
	}

	clk.Add(time.Minute)
	r2, err := bs.Upload(ctx, store.BundleUpload{Name: "library", Revision: "v2", Tarball: []byte("tarball two"), UploadedBy: "admin"})
	require.NoError(t, err)
	clk.Add(time.Minute)
	r3, err := bs.Upload(ctx, store.BundleUpload{Name: "custom", Revision: "abc123", Tarball: []byte("custom"), UploadedBy: "ci"})
	require.NoError(t, err)

	data, err := bs.Tarball(ctx, "library", "v1")
	require.NoError(t, err)
	require.Equal(t, tar1, data)
	_, err = bs.Tarball(ctx, "library", "v9")
	require.ErrorIs(t, err, store.ErrNotFound)

	require.ErrorIs(t, bs.Activate(ctx, "library", "v9", "admin", ""), store.ErrNotFound)
	require.NoError(t, bs.Activate(ctx, "library", "v1", "admin", "initial"))
	clk.Add(time.Minute)
	require.NoError(t, bs.Activate(ctx, "library", "v2", "ann", "new rule"))
	clk.Add(time.Minute)
	require.NoError(t, bs.Activate(ctx, "library", "v1", "ann", "rollback: v2 too noisy"))

	active, err := bs.Active(ctx)
	require.NoError(t, err)
	r1.Active = true
	require.Equal(t, r1, active)

	list, err := bs.List(ctx, "library")
	require.NoError(t, err)
	require.Equal(t, []store.BundleRevision{r2, r1}, list)
	list, err = bs.List(ctx, "")
	require.NoError(t, err)
	require.Equal(t, []store.BundleRevision{r3, r2, r1}, list)

	acts, err := bs.Activations(ctx)
	require.NoError(t, err)
	t0 := clk.Now()
	require.Equal(t, []store.Activation{
		{Name: "library", Revision: "v1", SHA256: r1.SHA256, ActivatedBy: "ann", ActivatedAt: t0, Reason: "rollback: v2 too noisy"},
		{Name: "library", Revision: "v2", SHA256: r2.SHA256, ActivatedBy: "ann", ActivatedAt: t0.Add(-time.Minute), Reason: "new rule"},
		{Name: "library", Revision: "v1", SHA256: r1.SHA256, ActivatedBy: "admin", ActivatedAt: t0.Add(-2 * time.Minute), Reason: "initial"},
	}, acts)
}

func TestUsers(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	us := db.Users()
	jdoe := store.User{
		ID: "u1", Name: "jdoe", FullName: "Jane Doe", Email: "jdoe@acme.example", Department: "Finance",
		Manager: "asmith", Groups: []string{"finance", "vpn"}, EmploymentStatus: "notice", EndDate: "2026-12-31",
	}
	require.NoError(t, us.Upsert(ctx, jdoe))
	jdoe.Updated = clk.Now()
	got, err := us.Get(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, jdoe, got)
	got, err = us.Lookup(ctx, "jdoe")
	require.NoError(t, err)
	require.Equal(t, jdoe, got)

	clk.Add(time.Hour)
	jdoe.Department, jdoe.Groups, jdoe.Contractor = "Sales", nil, true
	require.NoError(t, us.Upsert(ctx, jdoe))
	jdoe.Updated = clk.Now()
	got, err = us.Get(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, jdoe, got)

	require.ErrorIs(t, us.Upsert(ctx, store.User{ID: "u2", Name: "jdoe"}), store.ErrConflict)
	require.ErrorIs(t, us.Upsert(ctx, store.User{ID: "u2"}), store.ErrInvalid)
	require.ErrorIs(t, us.Upsert(ctx, store.User{Name: "x"}), store.ErrInvalid)
	require.ErrorIs(t, us.Upsert(ctx, store.User{ID: "u2", Name: "x", EndDate: "31/12/2026"}), store.ErrInvalid)

	for i := range 25 {
		require.NoError(t, us.Upsert(ctx, store.User{
			ID: fmt.Sprintf("u%03d", i+100), Name: fmt.Sprintf("user%d", i),
			Department: []string{"Finance", "Engineering"}[i%2], Contractor: i%3 == 0,
		}))
	}
	list := func(f store.UserFilter) []string {
		var ids []string
		for {
			page, next, err := us.List(ctx, f)
			require.NoError(t, err)
			for _, u := range page {
				ids = append(ids, u.ID)
			}
			if next == "" {
				return ids
			}
			f.Cursor = next
		}
	}
	all := list(store.UserFilter{Limit: 4})
	require.Len(t, all, 26)
	require.Equal(t, "u1", all[0])
	require.Len(t, list(store.UserFilter{Department: "Engineering", Limit: 5}), 12)
	yes, no := true, false
	require.Len(t, list(store.UserFilter{Contractor: &yes}), 9+1)
	require.Len(t, list(store.UserFilter{Contractor: &no, Department: "Finance"}), 8)
	require.Equal(t, []string{"u1"}, list(store.UserFilter{EmploymentStatus: "notice"}))
	_, _, err = us.List(ctx, store.UserFilter{Cursor: "!"})
	require.ErrorIs(t, err, store.ErrInvalid)

	require.NoError(t, us.Delete(ctx, "u100"))
	require.ErrorIs(t, us.Delete(ctx, "u100"), store.ErrNotFound)
	_, err = us.Get(ctx, "u100")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = us.Lookup(ctx, "nobody")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestUserRisk(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	now := clk.Now()
	add := func(id, user string, age time.Duration, score float64) store.Alert {
		d := decision(id, now.Add(-age), user)
		d.RiskScore = score
		a, _, err := db.Alerts().Create(ctx, d)
		require.NoError(t, err)
		return a
	}
	add("a1", "jdoe", time.Hour, 70)
	add("a2", "jdoe", 3*24*time.Hour, 20)
	add("a3", "jdoe", 10*24*time.Hour, 90) // outside a 7-day window
	fp := add("a4", "jdoe", 2*time.Hour, 45)
	add("a5", "asmith", time.Hour, 40)
	add("a6", "", time.Hour, 99) // no user: no one's risk
	_, err := db.Alerts().Update(ctx, fp.ID, store.AlertUpdate{Actor: "x", Status: store.StatusAcknowledged})
	require.NoError(t, err)
	_, err = db.Alerts().Update(ctx, fp.ID, store.AlertUpdate{Actor: "x", Status: store.StatusFalsePositive})
	require.NoError(t, err)

	r, err := db.Users().Risk(ctx, "jdoe", 7)
	require.NoError(t, err)
	require.Equal(t, store.UserRisk{User: "jdoe", Score: 90, Alerts: 2}, r)
	r, err = db.Users().Risk(ctx, "jdoe", 30)
	require.NoError(t, err)
	require.Equal(t, store.UserRisk{User: "jdoe", Score: 180, Alerts: 3}, r)
	r, err = db.Users().Risk(ctx, "nobody", 7)
	require.NoError(t, err)
	require.Equal(t, store.UserRisk{User: "nobody"}, r)
	_, err = db.Users().Risk(ctx, "jdoe", 0)
	require.ErrorIs(t, err, store.ErrInvalid)

	top, err := db.Users().TopRisk(ctx, 7, 10)
	require.NoError(t, err)
	require.Equal(t, []store.UserRisk{{User: "jdoe", Score: 90, Alerts: 2}, {User: "asmith", Score: 40, Alerts: 1}}, top)
	top, err = db.Users().TopRisk(ctx, 7, 1)
	require.NoError(t, err)
	require.Len(t, top, 1)
}

// Raise stores a batch's decisions and raises their alerts in one commit,
// with Put's and Create's results: invalid records alone are refused,
// stored decisions and existing alerts are left as they are.
func TestRaise(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	t0 := clk.Now().Add(-time.Hour)

	// d1 is stored before, with its alert.
	d1 := decision("d1", t0, "jdoe", "usb-mass-copy")
	first, created, err := db.Alerts().Create(ctx, d1)
	require.NoError(t, err)
	require.True(t, created)
	require.NoError(t, db.Decisions().Put(ctx, d1))
	quiet := decision("d2", t0, "asmith", "after-hours")
	quiet.Alert = false
	noID := decision("", t0, "x")
	badJSON := decision("d4", t0, "x")
	badJSON.Decision = json.RawMessage(`{"unterminated`)
	d5 := decision("d5", time.Time{}, "bwu", "usb-mass-copy", "leaver")
	commits := commitCount(t, db)

	res, err := db.Alerts().Raise(ctx, []store.DecisionRecord{d1, quiet, noID, badJSON, d5})
	require.NoError(t, err)
	require.Len(t, res, 5)
	require.Equal(t, 1.0, commitCount(t, db)-commits, "one commit for the batch")

	require.NoError(t, res[0].Err)
	require.False(t, res[0].Created)
	require.Equal(t, first, res[0].Alert)

	require.Equal(t, store.Raised{}, res[1], "a decision that does not alert raises nothing")
	got, err := db.Decisions().Get(ctx, "d2")
	require.NoError(t, err)
	require.Equal(t, quiet, got)

	require.ErrorIs(t, res[2].Err, store.ErrInvalid)
	require.ErrorIs(t, res[3].Err, store.ErrInvalid)
	require.Contains(t, res[3].Err.Error(), `put decision "d4"`)
	_, err = db.Decisions().Get(ctx, "d4")
	require.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, res[4].Err)
	require.True(t, res[4].Created)
	a := res[4].Alert
	require.Equal(t, "d5", a.DecisionID)
	require.Equal(t, []string{"usb-mass-copy", "leaver"}, a.RuleIDs)
	require.Equal(t, store.StatusOpen, a.Status)
	require.Equal(t, clk.Now(), a.Time, "a zero time is the store's now")
	stored, err := db.Alerts().Get(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, a, stored)
	hist, err := db.Alerts().History(ctx, a.ID)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.Equal(t, "raised by decision d5", hist[0].Comment)
	dec, err := db.Decisions().Get(ctx, "d5")
	require.NoError(t, err)
	require.Equal(t, clk.Now(), dec.Time)
	require.Equal(t, 3, count(t, db, "decisions"))
	require.Equal(t, 2, count(t, db, "alerts"))

	// Again: nothing new.
	again, err := db.Alerts().Raise(ctx, []store.DecisionRecord{d1, quiet, d5})
	require.NoError(t, err)
	require.Equal(t, []store.Raised{{Alert: first}, {}, {Alert: a}}, again)
	require.Equal(t, 2, count(t, db, "alerts"))

	// Nothing valid: no write at all.
	commits = commitCount(t, db)
	res, err = db.Alerts().Raise(ctx, []store.DecisionRecord{noID})
	require.NoError(t, err)
	require.ErrorIs(t, res[0].Err, store.ErrInvalid)
	require.Equal(t, commits, commitCount(t, db))

	// A store that cannot write fails every record.
	require.NoError(t, db.Close())
	res, err = db.Alerts().Raise(ctx, []store.DecisionRecord{decision("d6", t0, "x"), noID, decision("d7", t0, "y")})
	require.ErrorIs(t, err, store.ErrClosed)
	require.ErrorIs(t, res[0].Err, store.ErrClosed)
	require.ErrorIs(t, res[1].Err, store.ErrInvalid)
	require.ErrorIs(t, res[2].Err, store.ErrClosed)
}

// commitCount returns how many transactions the store's writer committed.
func commitCount(t *testing.T, db *DB) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, db.metrics.commits.Write(&m))
	return m.GetCounter().GetValue()
}
