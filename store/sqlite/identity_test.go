package sqlite

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/store"
)

func TestIdentityDocs(t *testing.T) {
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	id := db.Identity()
	ctx := t.Context()

	require.NoError(t, id.Apply(ctx, []store.IdentityOp{
		{Kind: "src.hr", ID: "b", Doc: json.RawMessage(`{"n":2}`)},
		{Kind: "src.hr", ID: "a", Doc: json.RawMessage(`{"n":1}`)},
		{Kind: "watchlist", ID: "x", Doc: json.RawMessage(`{}`)},
	}))
	docs, err := id.List(ctx, "src.hr")
	require.NoError(t, err)
	require.Equal(t, []store.IdentityDoc{
		{Kind: "src.hr", ID: "a", Doc: json.RawMessage(`{"n":1}`), Updated: clk.Now()},
		{Kind: "src.hr", ID: "b", Doc: json.RawMessage(`{"n":2}`), Updated: clk.Now()},
	}, docs)

	// Clear, delete and put in one batch.
	require.NoError(t, id.Apply(ctx, []store.IdentityOp{
		{Kind: "src.hr", Clear: true},
		{Kind: "src.hr", ID: "c", Doc: json.RawMessage(`{"n":3}`)},
		{Kind: "watchlist", ID: "x"},
		{Kind: "watchlist", ID: "never-was"},
	}))
	docs, err = id.List(ctx, "src.hr")
	require.NoError(t, err)
	require.Len(t, docs, 1)
	require.Equal(t, "c", docs[0].ID)
	docs, err = id.List(ctx, "watchlist")
	require.NoError(t, err)
	require.Empty(t, docs)

	// A bad op fails the whole batch before anything is written.
	for _, ops := range [][]store.IdentityOp{
		{{Kind: "src.hr", ID: "d", Doc: json.RawMessage(`{}`)}, {Kind: "", ID: "e", Doc: json.RawMessage(`{}`)}},
		{{Kind: "src.hr", ID: "d", Doc: json.RawMessage(`{}`)}, {Kind: "src.hr", Doc: json.RawMessage(`{}`)}},
		{{Kind: "src.hr", ID: "d", Doc: json.RawMessage(`{not json`)}},
	} {
		require.ErrorIs(t, id.Apply(ctx, ops), store.ErrInvalid)
	}
	docs, err = id.List(ctx, "src.hr")
	require.NoError(t, err)
	require.Len(t, docs, 1)

	require.NoError(t, db.Close())
	require.ErrorIs(t, id.Apply(ctx, []store.IdentityOp{{Kind: "k", ID: "i", Doc: json.RawMessage(`{}`)}}), store.ErrClosed)
}
