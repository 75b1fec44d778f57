package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/sensors/printing"
)

func TestSensorsCheckPrinting(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "cupsd.conf")
	cfgPath := filepath.Join(dir, "agent.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte("sensors:\n  printing:\n    cupsd_conf: "+conf+
		"\n    page_log: "+filepath.Join(dir, "page_log")+"\n"), 0o600))

	// Debian's cupsd.conf: an empty PageLogFormat turns page logging off.
	require.NoError(t, os.WriteFile(conf, []byte("LogLevel warn\nPageLogFormat\n"), 0o600))
	code, out, errOut := run(t, "sensors", "check", "--config", cfgPath, "--sensor", "printing")
	require.Equal(t, ExitFailed, code, out+errOut)
	require.Contains(t, out, "FAIL PageLogFormat: "+conf+" line 2 sets PageLogFormat to the empty string")
	require.Contains(t, out, "PageLogFormat "+printing.PageLogFormat)
	require.NotContains(t, out, "netconn", "--sensor limits the check")

	require.NoError(t, os.WriteFile(conf, []byte("PageLogFormat "+printing.PageLogFormat+"\n"), 0o600))
	code, out, errOut = run(t, "sensors", "check", "--config", cfgPath, "--sensor", "printing")
	require.Equal(t, ExitOK, code, out+errOut)
	require.Equal(t, 0, strings.Count(out, "FAIL"), out)

	code, _, errOut = run(t, "sensors", "check", "--sensor", "fax")
	require.Equal(t, ExitUsage, code)
	require.Contains(t, errOut, `"fax"`)

	require.NoError(t, os.WriteFile(cfgPath, []byte("printing:\n  poll_interval: 1ms\n"), 0o600))
	code, _, errOut = run(t, "sensors", "check", "--config", cfgPath, "--sensor", "printing")
	require.Equal(t, ExitError, code)
	require.Contains(t, errOut, "poll_interval")
}
