package cloudsync

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
)

// byPath returns the events so far, keyed by file path.
func byPath(evs *sensortest.Events) map[string][]event.Event {
	out := map[string][]event.Event{}
	for _, e := range evs.All() {
		out[e.File.Path] = append(out[e.File.Path], e)
	}
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestDefaultFolders(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "home", "jdoe")
	custom := filepath.Join(root, "elsewhere", "Dropbox (Acme)")
	nc := filepath.Join(root, "data", "nc")
	for _, d := range []string{"Dropbox", "OneDrive - Acme Corp", "OneDrive", "MEGA", "Box Sync", ".config/Nextcloud",
		"Library/CloudStorage/GoogleDrive-jdoe@gmail.com", "Library/Mobile Documents/com~apple~CloudDocs", ".dropbox"} {
		require.NoError(t, os.MkdirAll(filepath.Join(home, d), 0o700))
	}
	require.NoError(t, os.MkdirAll(custom, 0o700))
	require.NoError(t, os.MkdirAll(nc, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".dropbox", "info.json"),
		[]byte(`{"business": {"path": "`+custom+`", "host": 1}}`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".config", "Nextcloud", "nextcloud.cfg"),
		[]byte("[Accounts]\n0\\Folders\\1\\localPath="+nc+"/\n0\\url=https://cloud.acme.example\n"), 0o600))
	got := DefaultFolders([]string{filepath.Join(root, "home", "*")})
	want := []Folder{
		{Path: nc, Provider: ProviderNextcloud},
		{Path: custom, Provider: ProviderDropboxBusiness},
		{Path: filepath.Join(home, "Box Sync"), Provider: ProviderBox},
		{Path: filepath.Join(home, "Dropbox"), Provider: ProviderDropbox},
		{Path: filepath.Join(home, "Library", "CloudStorage", "GoogleDrive-jdoe@gmail.com"), Provider: ProviderGoogleDrive},
		{Path: filepath.Join(home, "Library", "Mobile Documents", "com~apple~CloudDocs"), Provider: ProviderICloud},
		{Path: filepath.Join(home, "MEGA"), Provider: ProviderMEGA},
		{Path: filepath.Join(home, "OneDrive"), Provider: ProviderOneDrivePersonal},
		{Path: filepath.Join(home, "OneDrive - Acme Corp"), Provider: ProviderOneDriveBusiness},
	}
	require.Equal(t, want, got)
}

func TestSyncFolderCopies(t *testing.T) {
	xvfb.NeedCommand(t, "cp", "coreutils")
	root := t.TempDir()
	home := filepath.Join(root, "home", "jdoe")
	dropbox := filepath.Join(home, "Dropbox")
	require.NoError(t, os.MkdirAll(filepath.Join(dropbox, "Existing", "Deep"), 0o700))
	src := filepath.Join(root, "src")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "tree", "sub"), 0o700))
	report := bytes.Repeat([]byte("quarterly figures\n"), 1000)
	require.NoError(t, os.WriteFile(filepath.Join(src, "q3.xlsx"), report, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(src, "tree", "a.txt"), []byte("a"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(src, "tree", "sub", "b.txt"), []byte("bb"), 0o600))

	cfg := DefaultConfig()
	cfg.Homes = []string{filepath.Join(root, "home", "*")}
	cfg.Settle, cfg.Rescan, cfg.HashMaxBytes = 30*time.Millisecond, time.Second, 4096
	s := New(cfg, sensors.Env{})
	col, stop := sensortest.Start(t, s)
	require.Eventually(t, func() bool {
		return s.Health().Message == "watching 1 sync folder(s), 3 directories"
	}, 10*time.Second, 5*time.Millisecond, "%+v", s.Health())

	cp := func(args ...string) {
		out, err := exec.Command("cp", args...).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	// A file copied in with cp; an editor lock file that must be ignored.
	require.NoError(t, os.WriteFile(filepath.Join(dropbox, "Existing", "~$q3.xlsx"), []byte("lock"), 0o600))
	cp(filepath.Join(src, "q3.xlsx"), filepath.Join(dropbox, "Existing", "Deep"))
	// A directory tree copied in: its directories are new, files inside
	// them may be written before the watch on them exists.
	cp("-r", filepath.Join(src, "tree"), dropbox)
	// A small file and a file above hash_max_bytes.
	big := bytes.Repeat([]byte{7}, 5000)
	require.NoError(t, os.WriteFile(filepath.Join(dropbox, "big.bin"), big, 0o600))

	q3 := filepath.Join(dropbox, "Existing", "Deep", "q3.xlsx")
	a, b := filepath.Join(dropbox, "tree", "a.txt"), filepath.Join(dropbox, "tree", "sub", "b.txt")
	bigPath := filepath.Join(dropbox, "big.bin")
	require.Eventually(t, func() bool {
		got := byPath(col)
		return len(got[q3]) > 0 && len(got[a]) > 0 && len(got[b]) > 0 && len(got[bigPath]) > 0
	}, 10*time.Second, 5*time.Millisecond)
	got := byPath(col)
	require.Len(t, got, 4, "the lock file is ignored: %v", got)
	u, err := user.LookupId(strconv.Itoa(os.Getuid()))
	require.NoError(t, err)
	ev := got[q3][0]
	require.NoError(t, ev.Validate())
	require.Equal(t, event.ActionFileCopiedToCloudSync, ev.Event.Action)
	require.Equal(t, &event.Destination{CloudProvider: ProviderDropbox}, ev.Destination)
	require.Equal(t, &event.File{Path: q3, Name: "q3.xlsx", Extension: "xlsx", Directory: filepath.Dir(q3),
		Size: int64(len(report))}, withoutHash(ev.File))
	require.Nil(t, ev.File.Hash, "above hash_max_bytes of 4096")
	require.Equal(t, &event.User{ID: u.Uid, Name: u.Username}, ev.User)
	require.Equal(t, sha([]byte("bb")), got[b][0].File.Hash.SHA256)
	require.Equal(t, sha([]byte("a")), got[a][0].File.Hash.SHA256)
	require.Nil(t, got[bigPath][0].File.Hash)
	require.Equal(t, int64(5000), got[bigPath][0].File.Size)

	// Touching a reported file changes nothing; rewriting it reports again.
	n := col.Len()
	now := time.Now()
	require.NoError(t, os.Chtimes(a, now, now))
	require.NoError(t, os.WriteFile(a, []byte("a2"), 0o600))
	require.Eventually(t, func() bool { return len(byPath(col)[a]) == 2 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, n+1, col.Len())
	require.Equal(t, sha([]byte("a2")), byPath(col)[a][1].File.Hash.SHA256)

	// The sync folder is deleted and created again: the rescan watches it.
	require.NoError(t, os.RemoveAll(dropbox))
	require.Eventually(t, func() bool {
		return strings.HasPrefix(s.Health().Message, "watching 0 sync folder(s)")
	}, 10*time.Second, 5*time.Millisecond, "%+v", s.Health())
	require.NoError(t, os.MkdirAll(dropbox, 0o700))
	require.Eventually(t, func() bool {
		return strings.HasPrefix(s.Health().Message, "watching 1 sync folder(s)")
	}, 10*time.Second, 5*time.Millisecond, "%+v", s.Health())
	again := filepath.Join(dropbox, "again.pdf")
	require.NoError(t, os.WriteFile(again, []byte("%PDF"), 0o600))
	require.Eventually(t, func() bool { return len(byPath(col)[again]) == 1 }, 10*time.Second, 5*time.Millisecond)
	stop()
	require.Equal(t, sensors.StateOK, s.Health().State)
	require.Equal(t, uint64(col.Len()), s.Health().Events)
}

func withoutHash(f *event.File) *event.File {
	c := *f
	c.Hash = nil
	return &c
}

func TestMaxWatches(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a", "b", "c"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, "Box", d), 0o700))
	}
	cfg := DefaultConfig()
	cfg.DefaultFolders = false
	cfg.Folders = []Folder{{Path: filepath.Join(root, "Box"), Provider: ProviderBox}}
	cfg.MaxWatches, cfg.Settle = 2, 10*time.Millisecond
	s := New(cfg, sensors.Env{})
	_, stop := sensortest.Start(t, s)
	require.Eventually(t, func() bool { return s.Health().State == sensors.StateDegraded }, 10*time.Second, 5*time.Millisecond)
	require.Contains(t, s.Health().Message, "max_watches (2) reached")
	stop()
}

func TestConfig(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	tests := []struct{ name, yaml, wantErr string }{
		{"unknown key", "folder: []", "field folder not found"},
		{"folder path", "folders: [{provider: box}]", "folders[0].path"},
		{"folder provider", "folders: [{path: /x}]", "folders[0].provider"},
		{"bad ignore", "ignore: ['[']", "ignore[0]"},
		{"negative hash bound", "hash_max_bytes: -1", "hash_max_bytes"},
		{"rescan", "rescan: 1ms", "rescan"},
		{"watches", "max_watches: 0", "max_watches"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig(sensortest.YAML(t, tt.yaml))
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func BenchmarkHashFile(b *testing.B) {
	p := filepath.Join(b.TempDir(), "f")
	require.NoError(b, os.WriteFile(p, bytes.Repeat([]byte("x"), 1<<20), 0o600))
	b.ReportAllocs()
	b.SetBytes(1 << 20)
	for b.Loop() {
		if _, err := hashFile(p, 1<<30); err != nil {
			b.Fatal(err)
		}
	}
}
