package console_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/api"
	"github.com/vigil-itm/vigil/console"
	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/event/eventgen"
	"github.com/vigil-itm/vigil/evidence"
	"github.com/vigil-itm/vigil/policies"
	"github.com/vigil-itm/vigil/store"
	"github.com/vigil-itm/vigil/store/sqlite"
)

// site is a real server for the console tests: the API on a SQLite store
// and the built-in library, the console at /console/, a redirect from /,
// and (until the server serves evidence itself) the evidence seam.
type site struct {
	t       *testing.T
	srv     *httptest.Server
	db      *sqlite.DB
	secrets map[store.Role]string
	names   map[store.Role]string
	// story is the alert of the seeded insider story, with evidence.
	story store.Alert
	// agent is the enrolled agent of ws-042, which sends the events and
	// the evidence.
	agent enrolledAgent
	// desktop renders the evidence frames (see renderFrames).
	desktop func(w http.ResponseWriter, r *http.Request)
}

const libraryDir = "../policies/library"

func newSite(t *testing.T) *site {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "vigil.db"), sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })

	load := func(p string) (*policies.Bundle, error) { return policies.Load(p) }
	live, err := engine.NewLive(libraryDir, load, nil)
	require.NoError(t, err)
	// The active bundle is stored like `vigil run` does, so that the
	// policies page can read its rules from GET /api/v1/bundles/active.
	b, err := policies.Load(libraryDir)
	require.NoError(t, err)
	var tarball bytes.Buffer
	require.NoError(t, policies.Build(b, &tarball, policies.BuildOptions{Revision: live.Program().Revision()}))
	_, err = db.Bundles().Upload(ctx, store.BundleUpload{Name: live.Program().Name(), Revision: live.Program().Revision(), Tarball: tarball.Bytes(), UploadedBy: "vigil run"})
	require.NoError(t, err)
	require.NoError(t, db.Bundles().Activate(ctx, live.Program().Name(), live.Program().Revision(), "vigil run", "working copy at start"))

	_, serverKey, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	s := &site{t: t, db: db, secrets: map[store.Role]string{}, names: map[store.Role]string{}}
	// The console is mounted the way the command mounts it: under
	// /console, with / redirecting to it. /fixture serves the page the
	// evidence frames are rendered from.
	srv, err := api.New(api.Config{EvidenceDir: filepath.Join(dir, "evidence")},
		api.Deps{
			Engine: live, EvidenceArchive: packageArchive{key: serverKey},
			Mounts: []api.Mount{
				{Prefix: "/console", Handler: console.Handler()},
				{Prefix: "/fixture", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.desktop(w, r) })},
			},
			Home: console.Prefix,
		}.WithStore(db))
	require.NoError(t, err)

	// People's tokens, as `vigil token create` makes them.
	for role, name := range map[store.Role]string{
		store.RoleAdmin: "ops-admin", store.RoleAnalyst: "sam.analyst", store.RoleAuditor: "ada.auditor",
	} {
		_, secret, err := db.Tokens().Create(ctx, store.NewToken{Name: name, Role: role, CreatedBy: "test"})
		require.NoError(t, err)
		s.secrets[role], s.names[role] = secret, name
	}

	s.srv = httptest.NewServer(srv.Handler())
	t.Cleanup(s.srv.Close)
	return s
}

// enrolledAgent is an agent enrolled through the API.
type enrolledAgent struct {
	id, token string
	key       ed25519.PrivateKey
	seq       int
}

// call sends a request with a bearer token and returns the status and
// body.
func (s *site) call(method, p, token, contentType string, body []byte) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+p, bytes.NewReader(body))
	require.NoError(s.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	var out bytes.Buffer
	_, err = out.ReadFrom(res.Body)
	require.NoError(s.t, err)
	return res.StatusCode, out.Bytes()
}

// callJSON sends v as JSON, requires the status and decodes the answer
// into out (when not nil).
func (s *site) callJSON(method, p, token string, v any, status int, out any) {
	s.t.Helper()
	body, err := json.Marshal(v)
	require.NoError(s.t, err)
	code, res := s.call(method, p, token, "application/json", body)
	require.Equal(s.t, status, code, "%s %s: %s", method, p, res)
	if out != nil {
		require.NoError(s.t, json.Unmarshal(res, out))
	}
}

// enroll enrolls an agent the way `vigil agent` does: an admin makes a
// single-use enrollment token, the agent redeems it with its evidence
// key, then reports its health.
func (s *site) enroll(host, osName string, sensors map[string]map[string]any) enrolledAgent {
	s.t.Helper()
	var tok struct {
		Secret string `json:"secret"`
	}
	s.callJSON(http.MethodPost, "/api/v1/tokens", s.secrets[store.RoleAdmin],
		map[string]any{"name": "enroll " + host, "role": "agent", "kind": "enrollment", "single_use": true}, http.StatusCreated, &tok)
	_, key, err := ed25519.GenerateKey(nil)
	require.NoError(s.t, err)
	pub, ok := key.Public().(ed25519.PublicKey)
	require.True(s.t, ok)
	var enrolled struct {
		AgentID string `json:"agent_id"`
		Token   string `json:"token"`
	}
	s.callJSON(http.MethodPost, "/api/v1/agents/enroll", "", map[string]any{"enrollment_token": tok.Secret, "name": host,
		"os": osName, "version": "0.4.0", "evidence_key": base64.StdEncoding.EncodeToString(pub)}, http.StatusCreated, &enrolled)
	s.callJSON(http.MethodPost, "/api/v1/agents/heartbeat", enrolled.Token, map[string]any{"version": "0.4.0",
		"bundle_name": "vigil-library", "bundle_revision": "0.2.0", "sensors": sensors}, http.StatusOK, nil)
	return enrolledAgent{id: enrolled.AgentID, token: enrolled.Token, key: key, seq: 1}
}

// seedAgents enrolls the story's workstation and two others, one of them
// with a failed sensor.
func (s *site) seedAgents() {
	s.t.Helper()
	since := time.Now().Add(-3 * time.Hour).UTC()
	ok := func(mode string) map[string]any {
		return map[string]any{"state": "ok", "mode": mode, "events": 1200, "errors": 0, "since": since}
	}
	s.agent = s.enroll("ws-042", "linux", map[string]map[string]any{
		"removable": ok("udev"), "file": ok("fanotify"), "clipboard": ok("xfixes"), "keyboard": ok("xinput"), "screen": ok("xshm"), "terminal": ok("pty"),
	})
	s.enroll("ws-077", "linux", map[string]map[string]any{
		"removable": ok("udev"), "file": ok("fsnotify"),
		"clipboard": {"state": "failed", "message": "cannot open display :0", "errors": 14, "last_error": "xgb: connection refused", "since": since},
	})
	s.enroll("lt-mac-013", "macos", map[string]map[string]any{
		"removable": ok("diskarbitration"), "print": ok("cups"), "screen": {"state": "unsupported", "since": since},
	})
}

// post sends a batch of events as the ws-042 agent and requires them
// stored.
func (s *site) post(events []map[string]any) {
	s.t.Helper()
	var out struct {
		Stored int `json:"stored"`
	}
	s.callJSON(http.MethodPost, "/api/v1/events", s.agent.token, map[string]any{"seq": s.agent.seq, "events": events}, http.StatusOK, &out)
	s.agent.seq++
	require.Equal(s.t, len(events), out.Stored)
}

// getJSON reads an API answer as role.
func (s *site) getJSON(role store.Role, p string, v any) {
	s.t.Helper()
	code, body := s.call(http.MethodGet, p, s.secrets[role], "", nil)
	require.Equal(s.t, http.StatusOK, code, "GET %s: %s", p, body)
	require.NoError(s.t, json.Unmarshal(body, v))
}

// seedBackground posts a week of generated activity of 40 people, up to
// an hour ago: a realistic mix in which library rules fire now and then.
func (s *site) seedBackground(now time.Time) {
	s.t.Helper()
	start := now.Add(-6 * 24 * time.Hour).Truncate(time.Hour)
	const n = 900
	g := eventgen.New(7, eventgen.Options{Users: 40, Hosts: 40, Start: start, Rate: n / (6 * 24 * 3600.0)})
	var batch []map[string]any
	for range n {
		e := g.Next()
		if e.Timestamp.After(now.Add(-time.Hour)) {
			break
		}
		raw, err := json.Marshal(e)
		require.NoError(s.t, err)
		var m map[string]any
		require.NoError(s.t, json.Unmarshal(raw, &m))
		batch = append(batch, m)
		if len(batch) == 500 {
			s.post(batch)
			batch = nil
		}
	}
	if len(batch) > 0 {
		s.post(batch)
	}
}

// storyEvents is jdoe's afternoon: a USB stick plugged in, the payroll
// export copied onto it, then an upload to personal storage. t0 is the
// time of the copy that raises the alert with evidence.
func storyEvents(t0 time.Time, idPrefix string) []map[string]any {
	ts := func(d time.Duration) string { return t0.Add(d).UTC().Format(time.RFC3339Nano) }
	user := map[string]any{"name": "jdoe"}
	host := map[string]any{"name": "ws-042"}
	vol := map[string]any{"removable": true, "bus_type": "usb", "mount_point": "/media/jdoe/KINGSTON", "label": "KINGSTON",
		"vendor_name": "Kingston", "product_name": "DataTraveler", "serial_number": "60A44C413D2AF1B0", "file_system_type": "vfat"}
	ev := func(n int, d time.Duration, action string, extra map[string]any) map[string]any {
		m := map[string]any{"@timestamp": ts(d), "event": map[string]any{"id": fmt.Sprintf("%s%04d", idPrefix, n), "action": action},
			"user": user, "host": host}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	return []map[string]any{
		ev(1, -52*time.Minute, "logon", map[string]any{"session": map[string]any{"id": "3", "tty": "tty2", "type": "x11"}}),
		ev(2, -3*time.Minute, "device-connected", map[string]any{"device": map[string]any{"bus_type": "usb", "vendor_name": "Kingston",
			"product_name": "DataTraveler", "serial_number": "60A44C413D2AF1B0", "removable": true}}),
		ev(3, -170*time.Second, "volume-mounted", map[string]any{"volume": vol}),
		ev(4, 0, "file-copied-to-removable", map[string]any{
			"process": map[string]any{"pid": 4301, "name": "cp", "executable": "/usr/bin/cp"},
			"file": map[string]any{"path": "/media/jdoe/KINGSTON/2026-10.xlsx", "name": "2026-10.xlsx", "extension": "xlsx",
				"source_path": "/srv/hr/payroll/2026-10.xlsx", "size": 48213},
			"volume": vol}),
		ev(5, 9*time.Minute, "web-upload", map[string]any{
			"url":         map[string]any{"full": "https://www.dropbox.com/upload", "domain": "www.dropbox.com"},
			"destination": map[string]any{"domain": "www.dropbox.com", "cloud_provider": "dropbox", "bytes": 48213},
			"file":        map[string]any{"path": "/home/jdoe/Downloads/payroll-2026-10.xlsx", "name": "payroll-2026-10.xlsx", "size": 48213}}),
	}
}

// seedDirectory adds a few people to the user directory.
func (s *site) seedDirectory() {
	s.t.Helper()
	ctx := context.Background()
	for _, u := range []store.User{
		{ID: "u-1001", Name: "jdoe", FullName: "Jane Doe", Email: "jdoe@acme.example", Department: "Finance", Manager: "mlopez",
			Groups: []string{"finance", "payroll"}, EmploymentStatus: "notice", EndDate: time.Now().AddDate(0, 0, 12).Format(time.DateOnly)},
		{ID: "u-1002", Name: "mlopez", FullName: "Maria Lopez", Department: "Finance", EmploymentStatus: "active"},
	} {
		require.NoError(s.t, s.db.Users().Upsert(ctx, u))
	}
}

// castEvent is one asciicast v2 output event.
type castEvent struct {
	at   time.Duration
	data string
}

// uploadStoryPackage writes a real evidence package (DESIGN §6, in the
// evidence package's format) for the story alert, as the ws-042 agent
// would: the frames, keystrokes, clipboard and a terminal session, the
// manifest naming the alerting decision and signed with the agent's
// enrolled key; then zips it and uploads it (POST /api/v1/evidence), where
// the server verifies, countersigns and keeps it. It returns the package
// id.
func (s *site) uploadStoryPackage(dir string, frames [][]byte, frameTimes []time.Time) string {
	s.t.Helper()
	a := s.story
	t0 := a.Time
	pkg := filepath.Join(dir, a.DecisionID)
	require.NoError(s.t, os.MkdirAll(filepath.Join(pkg, "frames"), 0o700))
	var files []evidence.FileEntry
	write := func(rel string, data []byte) {
		require.NoError(s.t, os.WriteFile(filepath.Join(pkg, filepath.FromSlash(rel)), data, 0o600))
		sum := sha256.Sum256(data)
		files = append(files, evidence.FileEntry{Path: rel, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))})
	}
	jsonl := func(rel string, items []any) {
		var b bytes.Buffer
		for _, it := range items {
			line, err := json.Marshal(it)
			require.NoError(s.t, err)
			b.Write(line)
			b.WriteByte('\n')
		}
		write(rel, b.Bytes())
	}

	prev := evidence.ChainGenesis(a.DecisionID)
	genesis := prev
	var entries []evidence.FrameEntry
	for i, jpg := range frames {
		name := fmt.Sprintf("frames/%06d.jpg", i+1)
		write(name, jpg)
		until := frameTimes[i].Add(2 * time.Second)
		if i+1 < len(frameTimes) {
			until = frameTimes[i+1]
		}
		sum := sha256.Sum256(jpg)
		e := evidence.FrameEntry{T: frameTimes[i].UTC(), Until: until.UTC(), File: name, SHA256: hex.EncodeToString(sum[:]),
			Width: 960, Height: 540, Prev: prev}
		e.Hash = evidence.ChainHash(prev, e)
		prev = e.Hash
		entries = append(entries, e)
	}
	idx, err := json.MarshalIndent(entries, "", "  ")
	require.NoError(s.t, err)
	write("frames/frames.json", append(idx, '\n'))

	jsonl("keystrokes.jsonl", []any{
		evidence.Keystroke{Time: t0.Add(-35 * time.Second), Window: "jdoe@ws-042: ~", App: "gnome-terminal", Text: "ls /media/jdoe/KINGSTON<Enter>"},
		evidence.Keystroke{Time: t0.Add(-22 * time.Second), Window: "jdoe@ws-042: ~", App: "gnome-terminal", Text: "cp -v "},
		evidence.Keystroke{Time: t0.Add(-14 * time.Second), Window: "jdoe@ws-042: ~", App: "gnome-terminal", Text: " /media/jdoe/KINGSTON/<Enter>"},
		evidence.Keystroke{Time: t0.Add(8 * time.Second), Window: "New Tab - Chromium", App: "chromium", Text: "dropbox.com<Enter>"},
		evidence.Keystroke{Time: t0.Add(15 * time.Second), Window: "Dropbox - Sign in - Chromium", App: "chromium", Text: "••••••••", Masked: true},
	})
	jsonl("clipboard.jsonl", []any{
		evidence.ClipboardEntry{Time: t0.Add(-19 * time.Second), Operation: "copy", Selection: "CLIPBOARD", Window: "payroll - Files", App: "nautilus",
			Format: "text", Length: 27, Text: "/srv/hr/payroll/2026-10.xlsx"},
		evidence.ClipboardEntry{Time: t0.Add(-16 * time.Second), Operation: "paste", Selection: "CLIPBOARD", Window: "jdoe@ws-042: ~", App: "gnome-terminal",
			Format: "text", Length: 27},
	})

	castStart := t0.Add(-38 * time.Second)
	prompt := "\x1b[1;32mjdoe@ws-042\x1b[0m:\x1b[1;34m~\x1b[0m$ "
	cast := []castEvent{
		{0, prompt},
		{3 * time.Second, "ls /media/jdoe/KINGSTON\r\n"},
		{3500 * time.Millisecond, "\x1b[0m\x1b[01;34mPhotos\x1b[0m  \x1b[01;34mmusic\x1b[0m  notes.txt\r\n" + prompt},
		{16 * time.Second, "cp -v "},
		{22 * time.Second, "/srv/hr/payroll/2026-10.xlsx"},
		{24 * time.Second, " /media/jdoe/KINGSTON/\r\n"},
		{38 * time.Second, "'/srv/hr/payroll/2026-10.xlsx' -> '/media/jdoe/KINGSTON/2026-10.xlsx'\r\n" + prompt},
		{44 * time.Second, "sync && echo done\r\n"},
		{46 * time.Second, "done\r\n" + prompt},
	}
	var cb bytes.Buffer
	hdr, err := json.Marshal(map[string]any{"version": 2, "width": 96, "height": 14, "timestamp": castStart.Unix(),
		"title": "jdoe@ws-042 pts/1", "env": map[string]string{"SHELL": "/bin/bash", "TERM": "xterm-256color"}})
	require.NoError(s.t, err)
	cb.Write(hdr)
	cb.WriteByte('\n')
	for _, e := range cast {
		line, err := json.Marshal([]any{e.at.Seconds(), "o", e.data})
		require.NoError(s.t, err)
		cb.Write(line)
		cb.WriteByte('\n')
	}
	write("session.cast", cb.Bytes())
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })

	agentKey := s.agent.key
	pub, ok := agentKey.Public().(ed25519.PublicKey)
	require.True(s.t, ok)
	m := evidence.Manifest{
		Format: evidence.Format, AlertID: a.DecisionID, AlertTime: t0.UTC(), RuleIDs: a.RuleIDs, Severity: a.Severity,
		Bundle: evidence.BundleInfo{Name: a.BundleName, Revision: a.BundleRevision}, Host: a.Host, User: a.User,
		Window:    evidence.TimeWindow{Start: frameTimes[0].UTC(), End: frameTimes[len(frameTimes)-1].Add(2 * time.Second).UTC()},
		CreatedAt: t0.Add(25 * time.Second).UTC(),
		Frames:    evidence.FramesSummary{Count: len(entries), Genesis: genesis, ChainHead: prev},
		Terminals: []evidence.TerminalInfo{{File: "session.cast", Session: "pts-1", TTY: "pts/1", User: "jdoe", Shell: "/bin/bash"}},
		Files:     files,
		Agent:     evidence.Signer{KeyID: evidence.KeyID(pub), PublicKey: base64.StdEncoding.EncodeToString(pub)},
	}
	mdata, err := json.MarshalIndent(m, "", "  ")
	require.NoError(s.t, err)
	mdata = append(mdata, '\n')
	require.NoError(s.t, os.WriteFile(filepath.Join(pkg, evidence.ManifestFile), mdata, 0o600))
	require.NoError(s.t, os.WriteFile(filepath.Join(pkg, evidence.SignatureFile), ed25519.Sign(agentKey, mdata), 0o600))
	rep, err := evidence.Verify(pkg, evidence.VerifyOptions{AgentKey: pub})
	require.NoError(s.t, err)
	require.True(s.t, rep.OK, "the package must verify before it is sent: %v", rep.Failures)

	var zipped bytes.Buffer
	require.NoError(s.t, evidence.Zip(pkg, &zipped))
	code, body := s.call(http.MethodPost, "/api/v1/evidence", s.agent.token, "application/zip", zipped.Bytes())
	require.Equal(s.t, http.StatusCreated, code, "upload evidence: %s", body)
	var up struct {
		Evidence store.EvidenceRecord `json:"evidence"`
	}
	require.NoError(s.t, json.Unmarshal(body, &up))
	require.Equal(s.t, a.ID, up.Evidence.AlertID)
	return up.Evidence.PackageID
}

// packageArchive gives the server the evidence package format, as the
// command wires it: unzip, read the manifest, verify, countersign, zip.
type packageArchive struct {
	key ed25519.PrivateKey
}

var _ api.EvidenceArchive = packageArchive{}

func (a packageArchive) Unpack(archive, dir string) error {
	tmp := dir + ".unzip"
	defer func() { _ = os.RemoveAll(tmp) }()
	pkg, err := evidence.Unzip(archive, tmp, evidence.DefaultZipLimits)
	if err != nil {
		return err
	}
	return os.Rename(pkg, dir)
}

func (a packageArchive) Manifest(dir string) (api.EvidenceManifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, evidence.ManifestFile))
	if err != nil {
		return api.EvidenceManifest{}, err
	}
	m, err := evidence.ParseManifest(data)
	if err != nil {
		return api.EvidenceManifest{}, err
	}
	return api.EvidenceManifest{AlertID: m.AlertID, Host: m.Host, User: m.User, Partial: m.Partial}, nil
}

func (a packageArchive) Verify(dir string, agentKey ed25519.PublicKey) (api.EvidenceVerdict, error) {
	rep, err := evidence.Verify(dir, evidence.VerifyOptions{AgentKey: agentKey, ServerKey: a.ServerKey()})
	if err != nil {
		return api.EvidenceVerdict{}, err
	}
	rep.Path, rep.Manifest = "", nil
	raw, err := json.Marshal(rep)
	if err != nil {
		return api.EvidenceVerdict{}, err
	}
	return api.EvidenceVerdict{OK: rep.OK, Problems: rep.Failures, Report: raw}, nil
}

func (a packageArchive) Countersign(dir string) error { return evidence.Countersign(dir, a.key) }

func (a packageArchive) Zip(dir string, w io.Writer) error { return evidence.Zip(dir, w) }

func (packageArchive) SealKey() string { return "" }

func (packageArchive) Unseal(path string) (string, bool, error) { return path, false, nil }

func (a packageArchive) ServerKey() ed25519.PublicKey {
	pub, _ := a.key.Public().(ed25519.PublicKey)
	return pub
}
