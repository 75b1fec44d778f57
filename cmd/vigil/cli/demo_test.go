package cli

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/event"
)

// demoServer is a vigil run (server and console, no local agent) started
// in-process for the demo tests.
type demoServer struct {
	t     *testing.T
	dir   string
	base  string
	token string
}

func startDemoServer(t *testing.T) *demoServer {
	t.Helper()
	// Runs last: after the server stopped, nothing the demo started (or
	// the server) is left running.
	opts := []goleak.Option{goleak.IgnoreCurrent()}
	t.Cleanup(func() { goleak.VerifyNone(t, opts...) })
	dir := t.TempDir()
	run := startRun(t, dir, serverOnly(dir))
	return &demoServer{t: t, dir: dir, base: run.base, token: run.token}
}

// call sends a request with the admin token and returns the status and
// the body.
func (s *demoServer) call(method, path string, body any) (int, []byte) {
	s.t.Helper()
	var in io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		require.NoError(s.t, err)
		in = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.base+path, in)
	require.NoError(s.t, err)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	return resp.StatusCode, data
}

func (s *demoServer) getJSON(path string, out any) {
	s.t.Helper()
	code, body := s.call(http.MethodGet, path, nil)
	require.Equal(s.t, http.StatusOK, code, "GET %s: %s", path, body)
	require.NoError(s.t, json.Unmarshal(body, out), string(body))
}

type demoAlertRow struct {
	ID         string    `json:"id"`
	DecisionID string    `json:"decision_id"`
	Time       time.Time `json:"time"`
	User       string    `json:"user"`
	Host       string    `json:"host"`
	Severity   string    `json:"severity"`
	RuleIDs    []string  `json:"rule_ids"`
}

func (s *demoServer) alerts() []demoAlertRow {
	s.t.Helper()
	var list struct {
		Alerts []demoAlertRow `json:"alerts"`
	}
	s.getJSON("/api/v1/alerts?limit=1000", &list)
	return list.Alerts
}

func runMain(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestDemoTellsAStoryWithEvidence(t *testing.T) {
	// Smaller and fewer frames: encoding them is most of the demo's work
	// (TestDemoScreens draws the full-size screen).
	w, h, interval := demoScreenW, demoScreenH, demoFrameInterval
	demoScreenW, demoScreenH, demoFrameInterval = 640, 360, 4*time.Second
	t.Cleanup(func() { demoScreenW, demoScreenH, demoFrameInterval = w, h, interval })
	s := startDemoServer(t)
	code, out, errOut := runMain("demo", "--server", s.base, "--data-dir", s.dir)
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	t.Log(out)

	alerts := s.alerts()
	require.NotEmpty(t, alerts)
	rules := map[string]bool{}
	for _, a := range alerts {
		require.Equal(t, demoPersonas[0].User, a.User)
		require.Equal(t, demoPersonas[0].Host, a.Host)
		require.WithinDuration(t, time.Now(), a.Time, time.Hour, "the story happens in the last hour")
		for _, r := range a.RuleIDs {
			rules[r] = true
		}
	}
	for _, r := range []string{"usb-sensitive-file", "sensitive-download-then-usb", "personal-upload-sensitive", "email-sensitive-attachment-personal",
		"cli-upload-personal", "clipboard-bulk-paste-browser"} {
		require.True(t, rules[r], "rule %s fired on the story; fired: %v", r, rules)
	}
	// The printed address opens the newest alert in the console.
	m := regexp.MustCompile(`(http://\S+)/console/#/alerts/(\S+)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	require.Equal(t, s.base, m[1])
	var one demoAlertRow
	s.getJSON("/api/v1/alerts/"+m[2], &struct {
		Alert *demoAlertRow `json:"alert"`
	}{&one})
	require.Equal(t, m[2], one.ID)
	var newest struct {
		Evidence []json.RawMessage `json:"evidence"`
	}
	s.getJSON("/api/v1/alerts/"+m[2]+"/evidence", &newest)
	require.Len(t, newest.Evidence, 1, "the printed alert has evidence to play")

	// Evidence: packages the server verified, with frames to play,
	// keystrokes, clipboard and a terminal session across the story.
	type evRecord struct {
		PackageID string `json:"package_id"`
		Verified  bool   `json:"verified"`
	}
	kinds := map[string]bool{}
	packages := 0
	for _, a := range alerts {
		var list struct {
			Evidence []evRecord `json:"evidence"`
		}
		s.getJSON("/api/v1/alerts/"+a.ID+"/evidence", &list)
		for _, ev := range list.Evidence {
			packages++
			require.True(t, ev.Verified, "alert %s package %s", a.ID, ev.PackageID)
			code, body := s.call(http.MethodPost, "/api/v1/evidence/"+ev.PackageID+"/verify", map[string]string{"reason": "demo test"})
			require.Equal(t, http.StatusOK, code, string(body))
			var v struct {
				Verdict struct {
					OK       bool     `json:"ok"`
					Problems []string `json:"problems"`
				} `json:"verdict"`
			}
			require.NoError(t, json.Unmarshal(body, &v))
			require.True(t, v.Verdict.OK, "%v", v.Verdict.Problems)

			files := s.packageFiles(ev.PackageID)
			for name := range files {
				kinds[name] = true
			}
			if fj, ok := files["frames/frames.json"]; ok {
				var frames []struct {
					T    time.Time `json:"t"`
					File string    `json:"file"`
				}
				require.NoError(t, json.Unmarshal(fj, &frames))
				require.Greater(t, len(frames), 5, "a package with video has several frames")
				for i := 1; i < len(frames); i++ {
					require.False(t, frames[i].T.Before(frames[i-1].T), "frames in time order")
					require.NotEqual(t, files[frames[i].File], files[frames[i-1].File], "each frame differs from the one before")
				}
			}
		}
	}
	require.GreaterOrEqual(t, packages, 4, out)
	for _, f := range []string{"frames/frames.json", "screenshot.png", "keystrokes.jsonl", "clipboard.jsonl", "session.cast", "manifest.sig"} {
		require.True(t, kinds[f], "some package of the story holds %s; files seen: %v", f, kinds)
	}

	// A second run tells a second story: more alerts, new ids, another
	// person, never an error.
	code, out2, errOut2 := runMain("demo", "--server", s.base, "--token", s.token)
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out2, errOut2)
	again := s.alerts()
	require.Greater(t, len(again), len(alerts))
	seen := map[string]bool{}
	users := map[string]bool{}
	for _, a := range again {
		require.False(t, seen[a.DecisionID])
		seen[a.DecisionID] = true
		users[a.User] = true
	}
	require.True(t, users[demoPersonas[1].User], "the second run is %s's story", demoPersonas[1].User)

	// A recorded story from a file, moved to the last hour.
	code, out3, errOut3 := runMain("demo", "--server", s.base, "--token", s.token, "--events", "../../../examples/events/usb-exfiltration.jsonl")
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out3, errOut3)
	require.Contains(t, out3, "Replayed 9 events of jdoe (jdoe) on ws-042")
	third := s.alerts()
	require.Greater(t, len(third), len(again))
	fromFile := map[string]bool{}
	for _, a := range third {
		if seen[a.DecisionID] {
			continue
		}
		require.WithinDuration(t, time.Now(), a.Time, time.Hour, "moved to the last hour")
		for _, r := range a.RuleIDs {
			fromFile[r] = true
		}
	}
	require.True(t, fromFile["sensitive-download-then-usb"], "%v", fromFile)
}

// packageFiles downloads an evidence package and returns its files.
func (s *demoServer) packageFiles(id string) map[string][]byte {
	s.t.Helper()
	code, body := s.call(http.MethodGet, "/api/v1/evidence/"+id+"?reason="+url.QueryEscape("demo test"), nil)
	require.Equal(s.t, http.StatusOK, code, string(body))
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	require.NoError(s.t, err)
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(s.t, err)
		data, err := io.ReadAll(rc)
		require.NoError(s.t, err)
		require.NoError(s.t, rc.Close())
		_, name, _ := strings.Cut(f.Name, "/")
		out[name] = data
	}
	return out
}

func TestDemoErrors(t *testing.T) {
	s := startDemoServer(t)
	// A port where nothing listens.
	ln := regexp.MustCompile(`:(\d+)$`).FindStringSubmatch(s.base)
	require.NotNil(t, ln)
	for name, tc := range map[string]struct {
		args []string
		code int
		msg  string
	}{
		"no server":       {[]string{"--server", "http://127.0.0.1:1", "--token", s.token}, ExitError, "no Vigil server answers at http://127.0.0.1:1"},
		"wrong token":     {[]string{"--server", s.base, "--token", "vgl_wrong"}, ExitError, "refused the admin token"},
		"no token file":   {[]string{"--server", s.base, "--data-dir", t.TempDir()}, ExitError, "read the admin token"},
		"token and dir":   {[]string{"--server", s.base, "--token", "x", "--data-dir", s.dir}, ExitUsage, "not both"},
		"bad server URL":  {[]string{"--server", "127.0.0.1:8470", "--token", s.token}, ExitUsage, "want http(s)://host[:port]"},
		"missing events":  {[]string{"--server", s.base, "--token", s.token, "--events", filepath.Join(t.TempDir(), "none.jsonl")}, ExitError, "read --events"},
		"unexpected args": {[]string{"now"}, ExitUsage, "unknown command"},
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runMain(append([]string{"demo"}, tc.args...)...)
			require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			require.Contains(t, errOut, tc.msg)
		})
	}
	require.Empty(t, s.alerts(), "a failed demo leaves nothing behind")
}

// TestDemoScreens draws the story's desktop at full size: every scene of
// the story looks different from the one before, and the sensors' record
// of it has keystrokes, clipboard entries and a terminal session.
func TestDemoScreens(t *testing.T) {
	end := time.Now().Add(-4 * time.Minute)
	p := demoPersonas[2]
	evs := demoStory(p, end)
	sim := newDemoSim(p, evs)
	require.NotEmpty(t, sim.keys)
	require.NotEmpty(t, sim.clips)
	require.NotEmpty(t, sim.terms)
	require.Equal(t, "start", sim.terms[0].Kind)
	require.Equal(t, p.User, sim.terms[0].User)

	var prev []byte
	seen := map[string]bool{}
	for _, a := range sim.acts {
		mid := a.from.Add(a.to.Sub(a.from) / 2)
		sc := sim.sceneAt(mid)
		seen[sc.App] = true
		img := drawDemoScene(sc, demoScreenW, demoScreenH)
		require.Equal(t, image.Rect(0, 0, 1280, 720), img.Bounds())
		require.NotEqual(t, prev, img.Pix, "the scene at %s differs from the one before", mid)
		prev = img.Pix
	}
	for _, app := range []string{"files", "sheet", "browser", "mail", "terminal", "viewer"} {
		require.True(t, seen[app], "the story shows the %s window", app)
	}
	require.True(t, sim.sceneAt(end).Locked, "the story ends with the screen locked")
	require.False(t, sim.sceneAt(end.Add(-time.Minute)).Locked)
	// The stick appears in the file manager while it is mounted.
	copyAt := evs[8].Timestamp
	require.Equal(t, "file-copied-to-removable", evs[8].Event.Action)
	sc := sim.sceneAt(copyAt.Add(2 * time.Second))
	require.Contains(t, sc.Sidebar, "KINGSTON")
	require.Equal(t, "KINGSTON", sc.Sidebar[sc.SideSel])
	require.Contains(t, sc.Rows[sc.Sel], evs[8].File.Name)
}

func TestRetimeEvents(t *testing.T) {
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	end := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		offsets []time.Duration
		want    []time.Duration
	}{
		"one event":      {[]time.Duration{0}, []time.Duration{0}},
		"short gaps":     {[]time.Duration{0, time.Minute, 3 * time.Minute}, []time.Duration{-3 * time.Minute, -2 * time.Minute, 0}},
		"long pause cut": {[]time.Duration{0, 5 * time.Minute, 8 * time.Hour}, []time.Duration{-15 * time.Minute, -10 * time.Minute, 0}},
		"same time":      {[]time.Duration{0, 0, time.Second}, []time.Duration{-time.Second, -time.Second, 0}},
	} {
		t.Run(name, func(t *testing.T) {
			var evs []*event.Event
			var ids []string
			for i, o := range tc.offsets {
				id := fmt.Sprintf("01JD00000000000000000000%02d", i)
				ids = append(ids, id)
				evs = append(evs, &event.Event{Timestamp: base.Add(o), Event: event.Meta{ID: id, Action: "logon"}})
			}
			got := retimeEvents(evs, end, 10*time.Minute)
			for i, e := range got {
				require.Equal(t, end.Add(tc.want[i]), e.Timestamp)
				require.NotEqual(t, ids[i], e.Event.ID, "a replay gets new ids")
				require.NoError(t, e.Validate())
			}
		})
	}
}

func BenchmarkDemoScreen(b *testing.B) {
	end := time.Now().Add(-4 * time.Minute)
	p := demoPersonas[0]
	evs := demoStory(p, end)
	sim := newDemoSim(p, evs)
	t := evs[8].Timestamp.Add(-3 * time.Second) // the copy to the stick
	b.Run("scene", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = sim.sceneAt(t)
		}
	})
	sc := sim.sceneAt(t)
	b.Run("draw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = drawDemoScene(sc, demoScreenW, demoScreenH)
		}
	})
	img := drawDemoScene(sc, demoScreenW, demoScreenH)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var buf bytes.Buffer
			require.NoError(b, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 60}))
		}
	})
}
