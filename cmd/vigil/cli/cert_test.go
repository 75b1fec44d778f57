package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// writeCERT writes a tiny CERT insider threat dataset in the layout of the
// later releases: logons, an upload to Dropbox, a copy of a PDF to USB, one
// row with a bad date and one activity Vigil has no action for (a file
// open).
func writeCERT(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"logon.csv": `id,date,user,pc,activity
{L1},11/02/2026 08:00:00,USR0001,PC-0101,Logon
{L2},11/02/2026 08:30:00,USR0002,PC-0102,Logon
`,
		"http.csv": `id,date,user,pc,url,activity,content
{H1},11/02/2026 09:00:00,USR0001,PC-0101,http://www.dropbox.com/upload,WWW Upload,x
{H2},11/02/2026 09:05:00,USR0002,PC-0102,http://news.example.com/,WWW Visit,x
{H3},13/45/2026 09:06:00,USR0002,PC-0102,http://x.example.com/,WWW Visit,x
`,
		"file.csv": `id,date,user,pc,filename,activity,to_removable_media,from_removable_media,content
{F1},11/02/2026 09:30:00,USR0002,PC-0102,C:\Users\USR0002\report.pdf,File Copy,True,False,x
{F2},11/02/2026 09:31:00,USR0002,PC-0102,C:\Users\USR0002\report.pdf,File Open,False,False,x
`,
		"LDAP/2026-11.csv": `employee_name,user_id,email,role,business_unit,functional_unit,department,team,supervisor
Avery Quill,USR0001,Avery.Quill@dtaa.com,Director,1,1 - Administration,2 - Operations,,
Blake Rowan,USR0002,Blake.Rowan@dtaa.com,Engineer,1,3 - Engineering,,1 - Platform,Avery Quill
`,
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	return dir
}

func TestReplayCERTDataset(t *testing.T) {
	dir := writeCERT(t)
	code, out, errOut := run(t, "replay", "--bundle", testBundle, "--format", "cert", "--events", dir, "--alerts", "-")
	require.Equal(t, ExitOK, code, "skipped rows are reported, not failures: "+out+errOut)
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var a AlertLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &a))
		got[a.Rule] = a.User.Name
	}
	require.Equal(t, map[string]string{"cloud-upload": "USR0001", "usb-copy": "USR0002", "usb-document": "USR0002"}, got)
	require.Contains(t, errOut, "replayed 5 events (0 malformed)")
	require.Contains(t, errOut, "cert "+dir+": 9 rows read (")
	require.Contains(t, errOut, "5 events, 2 users in the directory snapshots")
	require.Contains(t, errOut, "2 rows skipped: bad date 1, unmapped activity 1")

	code, out, errOut = run(t, "replay", "--bundle", testBundle, "--format", "cert", "--events", dir, "--report", "json")
	require.Equal(t, ExitOK, code, out+errOut)
	var rep ReplayReport
	require.NoError(t, json.Unmarshal([]byte(errOut), &rep))
	require.Equal(t, "cert", rep.Source.Format)
	require.Equal(t, map[string]int64{"bad date": 1, "unmapped activity": 1}, rep.Source.Skipped)
	require.Equal(t, int64(3), rep.Source.Rows["http.csv"])
	require.Equal(t, int64(5), rep.Source.Events)
	require.Equal(t, 2, rep.Source.Users)
	require.Equal(t, int64(5), rep.Events)
	require.Equal(t, int64(3), rep.Alerts)
}

func TestReplayCERTOptionsAndUsage(t *testing.T) {
	dir := writeCERT(t)
	// The dataset's local times move with the time zone.
	code, out, errOut := run(t, "replay", "--bundle", testBundle, "--format", "cert", "--events", dir,
		"--cert-timezone", "America/New_York", "--cert-domain", "ACME", "--cert-internal-domain", "acme.example,dtaa.com", "--alerts", "-")
	require.Equal(t, ExitOK, code, out+errOut)
	require.Contains(t, out, `"@timestamp":"2026-11-02T14:00:00Z","rule":"cloud-upload"`)
	require.Contains(t, errOut, "event time 2026-11-02T13:00:00Z … 2026-11-02T14:30:00Z")

	code, _, errOut = run(t, "replay", "--bundle", testBundle, "--format", "cert", "--events", "-")
	require.Equal(t, ExitUsage, code)
	require.Contains(t, errOut, "reads a directory")
	code, _, errOut = run(t, "replay", "--bundle", testBundle, "--format", "cert", "--events", dir, "--cert-timezone", "Mars/Olympus")
	require.Equal(t, ExitUsage, code)
	require.Contains(t, errOut, "--cert-timezone")
	code, _, _ = run(t, "replay", "--bundle", testBundle, "--format", "cert", "--events", t.TempDir())
	require.Equal(t, ExitError, code, "a directory without activity files")
}
