package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSinkTest(t *testing.T) {
	var got atomic.Int32
	var body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body.Store(string(b))
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "server.yml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `data_dir: %s
sinks:
  outputs:
    - name: soar
      type: webhook
      format: json
      webhook:
        url: %s/hook
`, dir, srv.URL), 0o600))

	var out, errb bytes.Buffer
	code := Main([]string{"sink", "test", "soar", "--config", cfg}, strings.NewReader(""), &out, &errb)
	require.Equal(t, ExitOK, code, errb.String())
	require.EqualValues(t, 1, got.Load())
	require.Contains(t, body.Load(), "vigil")
	require.Contains(t, out.String(), "delivered")

	out.Reset()
	errb.Reset()
	require.Equal(t, ExitUsage, Main([]string{"sink", "test", "nope", "--config", cfg}, strings.NewReader(""), &out, &errb))
	require.Contains(t, errb.String(), "nope")

	srv.Close()
	require.Equal(t, ExitFailed, Main([]string{"sink", "test", "soar", "--config", cfg}, strings.NewReader(""), &out, &errb),
		"an unreachable receiver is a failed check")
}
