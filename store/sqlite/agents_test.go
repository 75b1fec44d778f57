package sqlite

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/store"
)

func TestAgents(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := context.Background()
	ag := db.Agents()

	require.ErrorIs(t, ag.Add(ctx, store.Agent{Name: "ws-1"}), store.ErrInvalid)
	require.ErrorIs(t, ag.Add(ctx, store.Agent{ID: "A1"}), store.ErrInvalid)
	require.ErrorIs(t, ag.Add(ctx, store.Agent{ID: "A1", Name: "ws-1", Sensors: json.RawMessage(`[1]`)}), store.ErrInvalid)

	enrolled := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	require.NoError(t, ag.Add(ctx, store.Agent{ID: "A1", Name: "ws-1", OS: "linux", EvidenceKey: "a2V5", Enrolled: enrolled}))
	require.NoError(t, ag.Add(ctx, store.Agent{ID: "A2", Name: "ws-2", Enrolled: enrolled}))
	require.ErrorIs(t, ag.Add(ctx, store.Agent{ID: "A1", Name: "again"}), store.ErrConflict)

	a, err := ag.Get(ctx, "A1")
	require.NoError(t, err)
	require.Equal(t, "ws-1", a.Name)
	require.Equal(t, "a2V5", a.EvidenceKey)
	require.Equal(t, enrolled, a.LastSeen, "last seen starts at enrollment")
	require.JSONEq(t, `{}`, string(a.Sensors))

	seen := enrolled.Add(time.Hour)
	hb := store.Heartbeat{Version: "1.2.3", BundleName: "library", BundleRevision: "r7",
		Sensors: json.RawMessage(`{"removable":{"state":"ok"}}`), Spool: json.RawMessage(`{"bytes":10}`), RemoteAddr: "10.0.0.9", Time: seen}
	require.NoError(t, ag.Heartbeat(ctx, "A1", hb))
	// An older heartbeat delivered late does not move last seen back.
	hb.Time = enrolled.Add(time.Minute)
	require.NoError(t, ag.Heartbeat(ctx, "A1", hb))
	require.ErrorIs(t, ag.Heartbeat(ctx, "nope", hb), store.ErrNotFound)
	require.ErrorIs(t, ag.Heartbeat(ctx, "A1", store.Heartbeat{Spool: json.RawMessage(`"x"`)}), store.ErrInvalid)

	a, err = ag.Get(ctx, "A1")
	require.NoError(t, err)
	require.Equal(t, seen, a.LastSeen)
	require.Equal(t, "r7", a.BundleRevision)
	require.JSONEq(t, `{"removable":{"state":"ok"}}`, string(a.Sensors))
	_, err = ag.Get(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	page, next, err := ag.List(ctx, 1, "")
	require.NoError(t, err)
	require.Len(t, page, 1)
	require.Equal(t, "A1", page[0].ID)
	require.NotEmpty(t, next)
	page, next, err = ag.List(ctx, 1, next)
	require.NoError(t, err)
	require.Equal(t, "A2", page[0].ID)
	require.Empty(t, next)
}
