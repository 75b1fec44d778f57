package removable

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
)

// needRoot fails under scripts/test (which runs as root) and skips
// elsewhere: loop devices, mounts and fanotify need root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if xvfb.Required() {
		t.Fatal("this test needs root: it creates loop devices and mounts them")
	}
	t.Skip("needs root: it creates loop devices and mounts them")
}

// kernelHasFS reports whether the running kernel can mount fsType.
func kernelHasFS(t *testing.T, fsType string) bool {
	t.Helper()
	data, err := os.ReadFile("/proc/filesystems")
	require.NoError(t, err)
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[len(f)-1] == fsType {
			return true
		}
	}
	return false
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// loopImage makes a filesystem image of the given type and label and
// attaches it to a free loop device, which is detached when the test ends.
// It returns the device node, such as "/dev/loop3".
func loopImage(t *testing.T, fsType, label string, sizeMiB int64) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "stick.img")
	f, err := os.Create(img)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(sizeMiB<<20))
	require.NoError(t, f.Close())
	switch fsType {
	case "vfat":
		xvfb.NeedCommand(t, "mkfs.vfat", "dosfstools")
		run(t, "mkfs.vfat", "-n", label, img)
	case "ext4":
		xvfb.NeedCommand(t, "mkfs.ext4", "e2fsprogs")
		run(t, "mkfs.ext4", "-q", "-L", label, "-E", "root_owner=0:0", img)
	default:
		t.Fatalf("no mkfs for %s", fsType)
	}
	xvfb.NeedCommand(t, "losetup", "mount")
	dev := run(t, "losetup", "-f", "--show", img)
	require.True(t, strings.HasPrefix(dev, "/dev/loop"), "losetup printed %q", dev)
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v: %s", dev, err, out)
		}
	})
	return dev
}

// mountAt mounts dev on dir; the test's cleanup unmounts it if the test
// did not (lazily, should something still hold it).
func mountAt(t *testing.T, dev, fsType, dir string) {
	t.Helper()
	run(t, "mount", "-t", fsType, dev, dir)
	t.Cleanup(func() {
		if isMounted(dir) {
			if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
				t.Logf("umount %s: %v: %s; detaching lazily", dir, err, out)
				_ = exec.Command("umount", "-l", dir).Run()
			}
		}
	})
}

func isMounted(dir string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	ms, err := parseMountinfo(data)
	if err != nil {
		return false
	}
	for _, m := range ms {
		if m.MountPoint == dir {
			return true
		}
	}
	return false
}

// collector gathers emitted events.
type collector struct{ sensortest.Events }

// find returns the events with the given action that match.
func (c *collector) find(action string, match func(*event.Event) bool) []event.Event {
	return c.Find(func(e *event.Event) bool { return e.Event.Action == action && (match == nil || match(e)) })
}

// waitOne waits for exactly one matching event and returns it.
func (c *collector) waitOne(t *testing.T, action string, match func(*event.Event) bool) event.Event {
	t.Helper()
	require.Eventually(t, func() bool { return len(c.find(action, match)) > 0 }, 20*time.Second, 20*time.Millisecond,
		"no %s event; got %v", action, actionsOf(c.All()))
	got := c.find(action, match)
	require.Len(t, got, 1, "want one %s event", action)
	return got[0]
}

func actionsOf(es []event.Event) []string {
	out := make([]string, len(es))
	for i := range es {
		out[i] = es[i].Event.Action
	}
	return out
}

// startSensor builds the sensor through the registry from a YAML config
// and runs it until the test ends.
func startSensor(t *testing.T, cfgYAML string) (*Sensor, *collector) {
	t.Helper()
	reg, ok := sensors.Lookup(Name)
	require.True(t, ok)
	sn, err := reg.New(sensortest.YAML(t, cfgYAML), sensors.Env{})
	require.NoError(t, err)
	s, ok := sn.(*Sensor)
	require.True(t, ok)
	c := &collector{}
	sensortest.Run(t, s, c.Emit)
	sensortest.WaitState(t, s, sensors.StateOK, sensors.StateDegraded)
	return s, c
}

// writeFile writes n random bytes and returns the content's SHA-256.
func writeFile(t *testing.T, path string, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func sysUevent(t *testing.T, dev, action string) {
	t.Helper()
	p := "/sys/class/block/" + filepath.Base(dev) + "/uevent"
	require.NoError(t, os.WriteFile(p, []byte(action), 0o200))
}

func TestRemovableLoopDevice(t *testing.T) {
	needRoot(t)
	cases := []struct {
		fsType      string
		mode        string
		attribution string
	}{
		{"vfat", ModeFanotify, AttributionPermission},
		{"vfat", ModeFsnotify, AttributionPermission},
		{"ext4", ModeFanotify, AttributionPermission},
		{"ext4", ModeFanotify, AttributionNotify},
		{"ext4", ModeFsnotify, AttributionPermission},
	}
	for _, tc := range cases {
		name := tc.fsType + "/" + tc.mode
		if tc.mode == ModeFanotify {
			name += "/" + tc.attribution
		}
		t.Run(name, func(t *testing.T) {
			if !kernelHasFS(t, tc.fsType) {
				// No package can add a filesystem to a kernel built
				// without it; the label reader is still checked on the
				// real image by TestLabelFromLoopDevice.
				t.Skipf("the running kernel cannot mount %s (not in /proc/filesystems)", tc.fsType)
			}
			testLoopDevice(t, tc.fsType, tc.mode, tc.attribution)
		})
	}
}

func testLoopDevice(t *testing.T, fsType, mode, attribution string) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // runs last, after the sensor stopped
	const label = "VIGILTEST"
	dev := loopImage(t, fsType, label, 32)
	name := filepath.Base(dev)
	mnt := filepath.Join(t.TempDir(), "mnt")
	require.NoError(t, os.Mkdir(mnt, 0o755))

	s, c := startSensor(t, `
mode: `+mode+`
process_attribution: `+attribution+`
include_devices: [`+name+`]
mount_poll_interval: 200ms
hash_max_size: 1MiB
fsnotify_settle: 100ms
`)
	h := s.Health()
	require.Equal(t, mode, h.Mode, "health: %+v", h)
	require.Equal(t, sensors.StateOK, h.State, "health: %+v", h)
	require.Contains(t, h.Message, "device events from kernel uevents")
	if mode == ModeFanotify {
		require.Contains(t, h.Message, map[string]string{AttributionPermission: "(permission events)", AttributionNotify: "(notification events)"}[attribution])
	}

	// Plug: a synthetic "add" uevent is a real kernel uevent for the
	// existing loop device.
	sysUevent(t, dev, "add")
	conn := c.waitOne(t, event.ActionDeviceConnected, func(e *event.Event) bool { return e.Device.ID == name })
	require.Equal(t, "disk", conn.Device.Class)
	require.Equal(t, "virtual", conn.Device.BusType)
	require.Equal(t, int64(32<<20), conn.Device.Size)
	require.True(t, conn.Device.Removable)

	mountAt(t, dev, fsType, mnt)
	mounted := c.waitOne(t, event.ActionVolumeMounted, func(e *event.Event) bool { return e.Volume.MountPoint == mnt })
	require.Equal(t, label, mounted.Volume.Label)
	require.Equal(t, fsType, mounted.Volume.FileSystemType)
	require.Equal(t, dev, mounted.Volume.DeviceName)
	require.Equal(t, "virtual", mounted.Volume.BusType)
	require.Equal(t, int64(32<<20), mounted.Volume.Size)
	require.True(t, mounted.Volume.Removable)

	// Files written by a real cp, a child process of the test.
	src := t.TempDir()
	files := map[string]struct {
		size int
		sum  string
	}{}
	for _, f := range []struct {
		name string
		size int
	}{{"report.txt", 13}, {"q3.XLSX", 700 << 10}, {"big.iso", 3 << 20}} {
		files[f.name] = struct {
			size int
			sum  string
		}{f.size, writeFile(t, filepath.Join(src, f.name), f.size)}
	}
	cp := exec.Command("/bin/cp", filepath.Join(src, "report.txt"), filepath.Join(src, "q3.XLSX"), filepath.Join(src, "big.iso"), mnt+"/")
	out, err := cp.CombinedOutput()
	require.NoError(t, err, "cp: %s", out)

	for fname, want := range files {
		path := filepath.Join(mnt, fname)
		e := c.waitOne(t, event.ActionFileCopiedToRemovable, func(e *event.Event) bool { return e.File.Path == path })
		require.NoError(t, e.Validate())
		require.Equal(t, fname, e.File.Name)
		require.Equal(t, strings.ToLower(strings.TrimPrefix(filepath.Ext(fname), ".")), e.File.Extension)
		require.Equal(t, int64(want.size), e.File.Size)
		require.Equal(t, mnt, e.Volume.MountPoint)
		require.Equal(t, label, e.Volume.Label)
		if want.size > 1<<20 {
			require.Nil(t, e.File.Hash, "%s is larger than hash_max_size", fname)
			require.Equal(t, "larger than hash_max_size", e.Labels["hash_skipped"])
		} else {
			require.NotNil(t, e.File.Hash, fname)
			require.Equal(t, want.sum, e.File.Hash.SHA256, fname)
		}
		switch {
		case mode == ModeFanotify && attribution == AttributionPermission:
			require.NotNil(t, e.Process, fname)
			require.Equal(t, int64(cp.Process.Pid), e.Process.PID)
			require.Equal(t, "/usr/bin/cp", e.Process.Executable)
			require.Equal(t, "cp", e.Process.Name)
			require.Equal(t, cp.Args, e.Process.Args)
			require.Equal(t, strings.Join(cp.Args, " "), e.Process.CommandLine)
			require.Equal(t, "0", e.User.ID)
			require.Equal(t, "root", e.User.Name)
			require.Equal(t, filepath.Join(src, fname), e.File.SourcePath)
		case mode == ModeFanotify:
			// Without permission events a writer that is quick to exit
			// can be gone before it is read; what is reported is right.
			require.Equal(t, int64(cp.Process.Pid), e.Process.PID)
			if e.Process.Executable != "" {
				require.Equal(t, "/usr/bin/cp", e.Process.Executable)
			}
		default:
			// inotify names no process; the best-effort lookup may or may
			// not have caught cp with the file open.
			if e.Process != nil {
				require.Equal(t, int64(cp.Process.Pid), e.Process.PID)
			}
		}
	}

	// A burst: a directory tree copied recursively, every file reported
	// once, including those in directories created during the copy.
	tree := filepath.Join(src, "tree")
	sums := map[string]string{}
	for i := range 120 {
		rel := filepath.Join([]string{"a", "a/b", "a/b/c", "d"}[i%4], fmt.Sprintf("f%03d.dat", i))
		require.NoError(t, os.MkdirAll(filepath.Join(tree, filepath.Dir(rel)), 0o755))
		sums[filepath.Join(mnt, "tree", rel)] = writeFile(t, filepath.Join(tree, rel), 100+i)
	}
	out, err = exec.Command("cp", "-r", tree, mnt+"/").CombinedOutput()
	require.NoError(t, err, "cp -r: %s", out)
	inTree := func(e *event.Event) bool { return strings.HasPrefix(e.File.Path, mnt+"/tree/") }
	if !assert.Eventually(t, func() bool { return len(c.find(event.ActionFileCopiedToRemovable, inTree)) >= len(sums) },
		20*time.Second, 20*time.Millisecond) {
		for _, e := range c.find(event.ActionFileCopiedToRemovable, inTree) {
			delete(sums, e.File.Path)
		}
		require.Empty(t, sums, "files in the burst never reported")
	}
	for _, e := range c.find(event.ActionFileCopiedToRemovable, inTree) {
		want, ok := sums[e.File.Path]
		require.True(t, ok, "unexpected %s", e.File.Path)
		require.Equal(t, want, e.File.Hash.SHA256, e.File.Path)
		delete(sums, e.File.Path)
	}
	require.Empty(t, sums, "files reported twice or not at all")

	lastRef := lastReferenceWrite(t, mnt)
	e := c.waitOne(t, event.ActionFileCopiedToRemovable, func(e *event.Event) bool { return e.File.Path == lastRef.path })
	require.Equal(t, lastRef.sum, e.File.Hash.SHA256)
	if mode == ModeFanotify {
		require.NotNil(t, e.Process)
		require.Equal(t, int64(lastRef.pid), e.Process.PID, "the writer, not the process that dropped the last reference")
	} else if e.Process != nil {
		require.Equal(t, int64(lastRef.pid), e.Process.PID)
	}

	// The same file closed again unchanged is not a new copy.
	f, err := os.OpenFile(filepath.Join(mnt, "report.txt"), os.O_RDWR, 0)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	// A fanotify event not yet read holds the mount for a moment, as an
	// open file would: umount(8) may need a second try.
	require.Eventually(t, func() bool { return exec.Command("umount", mnt).Run() == nil }, 10*time.Second, 20*time.Millisecond)
	un := c.waitOne(t, event.ActionVolumeUnmounted, func(e *event.Event) bool { return e.Volume.MountPoint == mnt })
	require.Equal(t, label, un.Volume.Label)
	require.Len(t, c.find(event.ActionFileCopiedToRemovable, nil), 3+120+1, "one event per copied file")

	sysUevent(t, dev, "remove")
	gone := c.waitOne(t, event.ActionDeviceDisconnected, func(e *event.Event) bool { return e.Device.ID == name })
	require.Equal(t, conn.Device, gone.Device)

	for _, e := range c.All() {
		require.NoError(t, e.Validate(), "%s", e.Event.Action)
		require.Equal(t, Name, e.Event.Module)
	}
	require.Positive(t, s.Health().Events)
	t.Logf("health: %+v", s.Health())
}

type lastRefWrite struct {
	path, sum string
	pid       int
}

// lastReferenceWrite has a shell write a file in dir and close it while
// this process holds a second reference to the open file, taken with
// pidfd_getfd(2); the shell's close then drops only its own reference,
// and the close-write happens when this process drops the last one. The
// kernel names this process as the closer, as it does when the sensor
// reads the writer's /proc/PID/fd at the moment the writer closes.
func lastReferenceWrite(t *testing.T, dir string) lastRefWrite {
	t.Helper()
	path := filepath.Join(dir, "last-reference.txt")
	sh := exec.Command("/bin/sh", "-c", `exec 3>"$1"; printf 'written by the shell' >&3; read x; exec 3>&-; echo closed; read y`, "sh", path)
	in, err := sh.StdinPipe()
	require.NoError(t, err)
	out, err := sh.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, sh.Start())
	t.Cleanup(func() { _ = in.Close(); _ = sh.Wait() })
	fdLink := fmt.Sprintf("/proc/%d/fd/3", sh.Process.Pid)
	require.Eventually(t, func() bool {
		target, err := os.Readlink(fdLink)
		st, serr := os.Stat(path)
		return err == nil && target == path && serr == nil && st.Size() == 20
	}, 10*time.Second, 5*time.Millisecond, "the shell did not open and write %s", path)

	pidfd, err := unix.PidfdOpen(sh.Process.Pid, 0)
	require.NoError(t, err)
	ref, err := unix.PidfdGetfd(pidfd, 3, 0)
	require.NoError(t, unix.Close(pidfd))
	require.NoError(t, err, "pidfd_getfd")
	_, err = in.Write([]byte("\n"))
	require.NoError(t, err)
	line := make([]byte, len("closed\n"))
	_, err = io.ReadFull(out, line)
	require.NoError(t, err)
	require.Equal(t, "closed\n", string(line), "the shell closed its descriptor")
	require.NoError(t, unix.Close(ref)) // the last reference: the close-write is this process's

	sum := sha256.Sum256([]byte("written by the shell"))
	return lastRefWrite{path: path, sum: hex.EncodeToString(sum[:]), pid: sh.Process.Pid}
}

func TestAutoModeAsRoot(t *testing.T) {
	needRoot(t)
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	s, _ := startSensor(t, "mode: auto")
	require.Equal(t, ModeFanotify, s.Health().Mode, "root gets fanotify: %+v", s.Health())
}

// TestMediaPrefixMount mounts a loop device where desktops mount USB media,
// /media/<user>/<label>, and checks that the default configuration treats
// it as removable by its mount point alone, naming the user from it.
func TestMediaPrefixMount(t *testing.T) {
	needRoot(t)
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	if !kernelHasFS(t, "ext4") {
		t.Skip("the running kernel cannot mount ext4")
	}
	dev := loopImage(t, "ext4", "VIGILTEST", 16)
	require.NoError(t, os.MkdirAll("/media", 0o755))
	userDir, err := os.MkdirTemp("/media", "vigiltest")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, os.RemoveAll(userDir)) })
	mnt := filepath.Join(userDir, "VIGILTEST")
	require.NoError(t, os.Mkdir(mnt, 0o755))

	_, c := startSensor(t, "mount_poll_interval: 200ms")
	mountAt(t, dev, "ext4", mnt)
	e := c.waitOne(t, event.ActionVolumeMounted, func(e *event.Event) bool { return e.Volume.MountPoint == mnt })
	require.Equal(t, filepath.Base(userDir), e.User.Name)
	require.Equal(t, "VIGILTEST", e.Volume.Label)
	require.NoError(t, e.Validate())
	require.Eventually(t, func() bool { return exec.Command("umount", mnt).Run() == nil }, 10*time.Second, 20*time.Millisecond)
	c.waitOne(t, event.ActionVolumeUnmounted, func(e *event.Event) bool { return e.Volume.MountPoint == mnt })
}

// TestAlreadyMountedAndRestart checks that a volume mounted before the
// sensor starts is watched (without a volume-mounted event), and still is
// after the sensor is stopped and run again, as the agent does after a
// failure.
func TestAlreadyMountedAndRestart(t *testing.T) {
	needRoot(t)
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	if !kernelHasFS(t, "ext4") {
		t.Skip("the running kernel cannot mount ext4")
	}
	dev := loopImage(t, "ext4", "EARLY", 16)
	mnt := t.TempDir()
	mountAt(t, dev, "ext4", mnt)

	cfg := DefaultConfig()
	cfg.IncludeDevices = []string{filepath.Base(dev)}
	s, err := New(cfg, sensors.Env{})
	require.NoError(t, err)
	for round := range 2 {
		c := &collector{}
		stop := sensortest.Run(t, s, c.Emit)
		sensortest.WaitState(t, s, sensors.StateOK)

		path := filepath.Join(mnt, fmt.Sprintf("round%d.txt", round))
		src := filepath.Join(t.TempDir(), "src.txt")
		sum := writeFile(t, src, 64)
		out, err := exec.Command("cp", src, path).CombinedOutput()
		require.NoError(t, err, "%s", out)
		e := c.waitOne(t, event.ActionFileCopiedToRemovable, func(e *event.Event) bool { return e.File.Path == path })
		require.Equal(t, sum, e.File.Hash.SHA256)
		require.Equal(t, "EARLY", e.Volume.Label)
		require.Empty(t, c.find(event.ActionVolumeMounted, nil), "mounted before the sensor started")

		stop()
	}
}

// TestFsnotifyBurstIsHashed copies a directory of files onto the volume in
// fsnotify mode with a hash queue far smaller than the burst: every file
// settles in the same second, and every one must still be reported with
// its hash, the backlog waiting for the workers instead of being reported
// unhashed.
func TestFsnotifyBurstIsHashed(t *testing.T) {
	needRoot(t)
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	if !kernelHasFS(t, "ext4") {
		t.Skip("the running kernel cannot mount ext4")
	}
	dev := loopImage(t, "ext4", "BURST", 16)
	mnt := t.TempDir()
	mountAt(t, dev, "ext4", mnt)

	const files = 300
	src := filepath.Join(t.TempDir(), "reports")
	require.NoError(t, os.Mkdir(src, 0o755))
	sums := map[string]string{}
	for i := range files {
		name := fmt.Sprintf("r%03d.bin", i)
		sums[filepath.Join(mnt, "reports", name)] = writeFile(t, filepath.Join(src, name), 512+i)
	}

	s, c := startSensor(t, `
mode: fsnotify
include_devices: [`+filepath.Base(dev)+`]
fsnotify_settle: 200ms
hash_workers: 1
queue_size: 8
`)
	out, err := exec.Command("cp", "-r", src, mnt).CombinedOutput()
	require.NoError(t, err, "%s", out)

	copied := func() []event.Event { return c.find(event.ActionFileCopiedToRemovable, nil) }
	require.Eventually(t, func() bool { return len(copied()) >= files }, 60*time.Second, 50*time.Millisecond,
		"%d of %d files reported", len(copied()), files)
	got := map[string]string{}
	for _, e := range copied() {
		require.NotNil(t, e.File.Hash, "%s reported without a hash: %v", e.File.Path, e.Labels)
		got[e.File.Path] = e.File.Hash.SHA256
	}
	require.Equal(t, sums, got)
	require.Zero(t, s.Health().Errors, "health: %+v", s.Health())
}
