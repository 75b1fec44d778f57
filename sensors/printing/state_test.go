//go:build linux || darwin

package printing

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/sensors/internal/logtail"
	"github.com/vigil-itm/vigil/sensors/internal/statefile"
)

// TestSavedStateFormat pins the JSON of the saved state: the page_log
// position sits at the top level beside the recent jobs, so the state
// files written by earlier agents still resume.
func TestSavedStateFormat(t *testing.T) {
	st := savedState{Position: logtail.Position{Path: "/x", FileID: 7, Offset: 42}, Recent: []string{"P-1"}}
	data, err := json.Marshal(st)
	require.NoError(t, err)
	require.JSONEq(t, `{"path":"/x","file_id":7,"offset":42,"recent":["P-1"]}`, string(data))

	p := statefile.Path(t.TempDir(), Name)
	require.NoError(t, statefile.Save(p, st))
	require.Equal(t, &st, statefile.Load[savedState](p))
}
