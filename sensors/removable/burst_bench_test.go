package removable

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/sensorbench"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
)

// burstFiles is how many files the burst copies onto the stick.
const burstFiles = 10000

// benchCmd runs a command and fails the benchmark when it fails.
func benchCmd(b testing.TB, name string, args ...string) string {
	b.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(b, err, "%s %s: %s", name, strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// benchStick makes an ext4 image with room for the burst, attaches it to a
// loop device and returns the device. The kernel of the machine the figures
// come from has no vfat (and no USB), so the stick is ext4 on a loop device
// that the sensor's include_devices marks removable.
func benchStick(b testing.TB) string {
	b.Helper()
	if os.Geteuid() != 0 {
		if xvfb.Required() {
			b.Fatal("the burst needs root: it creates a loop device and mounts it")
		}
		b.Skip("needs root: it creates a loop device and mounts it")
	}
	xvfb.NeedCommand(b, "mkfs.ext4", "e2fsprogs")
	xvfb.NeedCommand(b, "losetup", "mount")
	img := filepath.Join(b.TempDir(), "stick.img")
	f, err := os.Create(img)
	require.NoError(b, err)
	require.NoError(b, f.Truncate(256<<20))
	require.NoError(b, f.Close())
	benchCmd(b, "mkfs.ext4", "-q", "-N", "32768", "-L", "VIGILBENCH", "-E", "root_owner=0:0", img)
	dev := benchCmd(b, "losetup", "-f", "--show", img)
	b.Cleanup(func() { _ = exec.Command("losetup", "-d", dev).Run() })
	return dev
}

// benchTree writes n files of 1 to 8 KiB of random bytes in directories of
// 100 and returns the tree's root and the size of each file by its path
// relative to the root.
func benchTree(b testing.TB, n int) (string, map[string]int64) {
	b.Helper()
	root := filepath.Join(b.TempDir(), "tree")
	sizes := make(map[string]int64, n)
	buf := make([]byte, 8<<10)
	for i := range n {
		rel := filepath.Join(fmt.Sprintf("d%03d", i/100), fmt.Sprintf("f%05d.dat", i))
		if i%100 == 0 {
			require.NoError(b, os.MkdirAll(filepath.Join(root, filepath.Dir(rel)), 0o755))
		}
		size := 1<<10 + (i*977)%(7<<10)
		_, _ = rand.Read(buf[:size])
		require.NoError(b, os.WriteFile(filepath.Join(root, rel), buf[:size], 0o644))
		sizes[rel] = int64(size)
	}
	return root, sizes
}

// BenchmarkBurstCopy copies 10,000 files (1-8 KiB each, 100 directories)
// with one `cp -r` onto a loop-mounted ext4 image the sensor treats as
// removable, and counts the file-copied-to-removable events by path: lost
// is how many files were never reported, dup_events how many were reported
// twice, unhashed how many came without a hash (queue full) and
// wrong_size how many with a size that is not the file's. CPU and memory
// are the benchmark process's (the sensor's) from the start of the copy to
// the last event; the copy itself runs in cp.
func BenchmarkBurstCopy(b *testing.B) {
	for _, mode := range []string{ModeFanotify, ModeFsnotify} {
		files := burstFiles
		if testing.Short() {
			files = 500 // the smoke run of scripts/test: does it work, not how fast
		}
		b.Run("mode="+mode+"/fs=ext4-loop/files="+fmt.Sprint(files), func(b *testing.B) {
			dev := benchStick(b)
			src, sizes := benchTree(b, files)
			for b.Loop() {
				mnt := filepath.Join(b.TempDir(), "VIGILBENCH")
				require.NoError(b, os.Mkdir(mnt, 0o755))
				var unhashed, wrongSize atomic.Int64
				c := &sensorbench.Counter{Key: func(e *event.Event) (string, bool) {
					if e.Event.Action != event.ActionFileCopiedToRemovable || e.File == nil {
						return "", false
					}
					rel, err := filepath.Rel(filepath.Join(mnt, "tree"), e.File.Path)
					if err != nil || strings.HasPrefix(rel, "..") {
						return "", false
					}
					if e.File.Hash == nil {
						unhashed.Add(1)
					}
					if sizes[rel] != e.File.Size {
						wrongSize.Add(1)
					}
					return rel, true
				}}
				mounted := make(chan struct{}, 1)
				emit := func(e event.Event) {
					if e.Event.Action == event.ActionVolumeMounted && e.Volume != nil && e.Volume.MountPoint == mnt {
						mounted <- struct{}{}
					}
					c.Emit(e)
				}
				reg, ok := sensors.Lookup(Name)
				require.True(b, ok)
				s, err := reg.New(sensortest.YAML(b, "mode: "+mode+"\ninclude_devices: ["+filepath.Base(dev)+"]\nmount_poll_interval: 200ms\n"), sensors.Env{})
				require.NoError(b, err)
				stop := sensortest.Run(b, s, emit)
				sensortest.WaitState(b, s.(sensors.HealthReporter), sensors.StateOK, sensors.StateDegraded)
				benchCmd(b, "mount", "-t", "ext4", dev, mnt)
				select {
				case <-mounted:
				case <-time.After(time.Minute):
					b.Fatal("no volume-mounted event")
				}
				lost := sensorbench.Measure(b, sensorbench.Burst{
					Want: files,
					Got:  c.Distinct,
					Load: func() { benchCmd(b, "cp", "-r", src, mnt+"/") },
				})
				b.ReportMetric(float64(c.Duplicates()), "dup_events")
				b.ReportMetric(float64(unhashed.Load()), "unhashed")
				b.ReportMetric(float64(wrongSize.Load()), "wrong_size")
				h := s.(sensors.HealthReporter).Health()
				b.Logf("health after the burst: %+v", h)
				if lost > 0 {
					b.Errorf("%d of %d files were not reported", lost, files)
				}
				stop()
				benchCmd(b, "umount", mnt)
			}
		})
	}
}
