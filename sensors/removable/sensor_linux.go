package removable

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/owner"
)

// Sensor is the removable media sensor. Build it with New (or through the
// sensors registry); Run it once.
type Sensor struct {
	cfg     Config
	log     *slog.Logger
	cls     classifier
	sys     sysfs
	tracker sensors.Tracker
	users   owner.Users
	vols    volumeSet
	dedupe  dedupe
	self    int

	// mountinfo is the file the mount table is read from; mstate is the
	// mount loop's memory of it.
	mountinfo string
	mstate    mountState

	// status is the part of the health message each part owns.
	statusMu   sync.Mutex
	modeName   string
	fileStatus string
	devStatus  string
	degraded   bool
	started    bool // health is published from the first full scan on
}

var (
	_ sensors.Sensor         = (*Sensor)(nil)
	_ sensors.HealthReporter = (*Sensor)(nil)
)

// New builds the sensor from a validated configuration.
func New(cfg Config, env sensors.Env) (*Sensor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sensor %q: %w", Name, err)
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Sensor{
		cfg:       cfg,
		log:       logger.With("component", "sensor/"+Name),
		cls:       newClassifier(&cfg),
		sys:       sysfs{root: "/sys"},
		self:      os.Getpid(),
		mountinfo: "/proc/self/mountinfo",
		users:     owner.Users{Max: 4096},
	}, nil
}

// Name returns "removable".
func (s *Sensor) Name() string { return Name }

// Health reports the sensor's state; Mode is "fanotify" or "fsnotify".
func (s *Sensor) Health() sensors.Health { return s.tracker.Health() }

// fileWatcher sees files written onto removable volumes.
type fileWatcher interface {
	// addMount starts watching a volume; it returns once writes to it
	// are seen.
	addMount(v *volume) error
	// removeMount stops watching a volume.
	removeMount(v *volume)
	// run delivers writes until the stopper fires.
	run(ctx context.Context, st *stopper) error
	// close releases the watcher's resources after run has returned.
	close()
}

// hashJob is one written file waiting to be hashed and reported.
type hashJob struct {
	// fd is an open descriptor of the file (fanotify), or -1 to open path.
	fd     int
	path   string
	vol    *volume
	proc   *procInfo
	srcs   []srcFile
	at     time.Time
	noHash bool
}

// drop releases a job that will not be reported.
func (j *hashJob) drop() {
	if j.fd >= 0 {
		_ = unix.Close(j.fd)
	}
}

// Run watches devices, mounts and file writes until ctx is done.
func (s *Sensor) Run(ctx context.Context, emit func(event.Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := newStopper()
	if err != nil {
		return fmt.Errorf("sensor %q: %w", Name, err)
	}
	defer st.close()
	s.reset()

	jobs := make(chan hashJob, s.cfg.QueueSize)
	fw, err := s.newFileWatcher(jobs, emit)
	if err != nil {
		s.tracker.Set(sensors.StateFailed, "", err.Error())
		return err
	}

	var wg sync.WaitGroup
	errc := make(chan error, 4)
	wg.Go(func() {
		<-ctx.Done()
		st.fire()
	})
	for range s.cfg.HashWorkers {
		wg.Go(func() {
			for j := range jobs {
				if ctx.Err() != nil {
					j.drop() // stopping: emit nothing more
					continue
				}
				s.finish(j, emit)
			}
		})
	}
	var loops sync.WaitGroup
	loops.Go(func() {
		if err := fw.run(ctx, st); err != nil {
			errc <- err
		}
	})

	dev, err := s.openUevents()
	if err != nil {
		s.setDevStatus(true, "no device events: "+err.Error())
		s.tracker.Failed(err)
		s.log.Warn("device events unavailable", "err", err)
	} else {
		s.setDevStatus(false, "device events from kernel uevents")
		loops.Go(func() {
			if err := s.watchUevents(dev, st, emit); err != nil {
				errc <- err
			}
		})
	}

	mi, err := s.openMountinfo()
	if err == nil {
		err = s.applyMountinfo(mi, fw, emit, true)
	}
	if err == nil {
		s.statusMu.Lock()
		s.started = true
		s.statusMu.Unlock()
		s.publishHealth()
		loops.Go(func() {
			if err := s.watchMounts(mi, fw, st, emit); err != nil {
				errc <- err
			}
		})
	} else {
		errc <- err
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	cancel()
	loops.Wait()
	fw.close()
	close(jobs)
	wg.Wait()
	if mi != nil {
		_ = mi.Close()
	}
	if runErr != nil {
		s.tracker.Set(sensors.StateFailed, s.modeName, runErr.Error())
		return fmt.Errorf("sensor %q: %w", Name, runErr)
	}
	// Stopped: no longer watching, whatever the last run reported. A
	// caller that runs the sensor again and waits for "ok" then waits for
	// the new run's watches, not the old run's state.
	s.tracker.Set(sensors.StateStarting, "", "stopped")
	return nil
}

// reset forgets what a previous Run learnt, so that a restarted sensor
// watches every removable volume again.
func (s *Sensor) reset() {
	s.tracker.Set(sensors.StateStarting, "", "")
	s.statusMu.Lock()
	s.modeName, s.fileStatus, s.devStatus, s.degraded, s.started = "", "", "", false, false
	s.statusMu.Unlock()
	s.mstate = mountState{}
	s.vols.mu.Lock()
	s.vols.byID = nil
	s.vols.mu.Unlock()
}

// newFileWatcher picks fanotify or fsnotify as configured.
func (s *Sensor) newFileWatcher(jobs chan<- hashJob, emit func(event.Event)) (fileWatcher, error) {
	if s.cfg.Mode != ModeFsnotify {
		fw, err := newFanotify(s, jobs, emit)
		if err == nil {
			s.setFileStatus(ModeFanotify, fw.refused.Load(), fw.describe())
			return fw, nil
		}
		if s.cfg.Mode == ModeFanotify {
			return nil, fmt.Errorf("sensor %q: mode fanotify: %w", Name, err)
		}
		s.log.Info("fanotify unavailable, using fsnotify", "err", err)
		fs, ferr := newFsnotify(s, jobs, emit)
		if ferr != nil {
			return nil, fmt.Errorf("sensor %q: fanotify: %w; fsnotify: %w", Name, err, ferr)
		}
		s.setFileStatus(ModeFsnotify, true, "fanotify unavailable ("+err.Error()+"); recursive fsnotify watches, writing process found on a best-effort basis")
		return fs, nil
	}
	fs, err := newFsnotify(s, jobs, emit)
	if err != nil {
		return nil, fmt.Errorf("sensor %q: mode fsnotify: %w", Name, err)
	}
	s.setFileStatus(ModeFsnotify, false, "recursive fsnotify watches, writing process found on a best-effort basis")
	return fs, nil
}

func (s *Sensor) setFileStatus(mode string, degraded bool, msg string) {
	s.statusMu.Lock()
	s.modeName, s.fileStatus = mode, msg
	s.degraded = s.degraded || degraded
	started := s.started
	s.statusMu.Unlock()
	if started {
		s.publishHealth()
	}
}

func (s *Sensor) setDevStatus(degraded bool, msg string) {
	s.statusMu.Lock()
	s.devStatus = msg
	s.degraded = s.degraded || degraded
	s.statusMu.Unlock()
}

// publishHealth sets the tracker's state from the parts' statuses.
func (s *Sensor) publishHealth() {
	s.statusMu.Lock()
	state := sensors.StateOK
	if s.degraded {
		state = sensors.StateDegraded
	}
	msg := s.fileStatus
	if s.devStatus != "" {
		msg += "; " + s.devStatus
	}
	mode := s.modeName
	s.statusMu.Unlock()
	s.tracker.Set(state, mode, msg)
}

// emitEvent fills the common fields, normalises and emits e.
func (s *Sensor) emitEvent(emit func(event.Event), e *event.Event) {
	if e.Timestamp.IsZero() {
		e.Timestamp = time.Now()
	}
	e.Event.ID = event.NewID(e.Timestamp)
	e.Event.Module = Name
	e.Event.Outcome = "success"
	e.Normalize()
	s.tracker.Emitted()
	emit(*e)
}

// volume is a mounted filesystem the sensor treats as removable.
type volume struct {
	m    mount
	info *blockInfo
	ev   event.Volume
	user string
}

// volumeSet holds the removable volumes; it is read by the watchers and
// written by the mount loop.
type volumeSet struct {
	mu   sync.RWMutex
	byID map[int]*volume
}

func (vs *volumeSet) add(v *volume) {
	vs.mu.Lock()
	if vs.byID == nil {
		vs.byID = map[int]*volume{}
	}
	vs.byID[v.m.ID] = v
	vs.mu.Unlock()
}

func (vs *volumeSet) remove(id int) {
	vs.mu.Lock()
	delete(vs.byID, id)
	vs.mu.Unlock()
}

func (vs *volumeSet) get(id int) *volume {
	vs.mu.RLock()
	defer vs.mu.RUnlock()
	return vs.byID[id]
}

// lookup returns the volume whose mount point is the longest prefix of p.
func (vs *volumeSet) lookup(p string) *volume {
	vs.mu.RLock()
	defer vs.mu.RUnlock()
	var best *volume
	for _, v := range vs.byID {
		if underMount(p, v.m.MountPoint) && (best == nil || len(v.m.MountPoint) > len(best.m.MountPoint)) {
			best = v
		}
	}
	return best
}

func (s *Sensor) openMountinfo() (*os.File, error) {
	f, err := os.Open(s.mountinfo)
	if err != nil {
		return nil, fmt.Errorf("open mount table: %w", err)
	}
	return f, nil
}

// readMountinfo reads the whole mount table from the start.
func readMountinfo(f *os.File, buf *bytes.Buffer) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind %s: %w", f.Name(), err)
	}
	buf.Reset()
	if _, err := buf.ReadFrom(f); err != nil {
		return fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return nil
}

// watchMounts re-reads the mount table whenever the kernel says it changed
// (POLLPRI on mountinfo) and at least every MountPollInterval.
func (s *Sensor) watchMounts(f *os.File, fw fileWatcher, st *stopper, emit func(event.Event)) error {
	interval := int(s.cfg.MountPollInterval / time.Millisecond)
	for {
		_, stopped, err := st.wait(int(f.Fd()), pollPri, interval)
		if err != nil {
			return fmt.Errorf("wait for mount table changes: %w", err)
		}
		if stopped {
			return nil
		}
		if err := s.applyMountinfo(f, fw, emit, false); err != nil {
			if !errors.Is(err, errMountinfo) {
				return err
			}
			// Keep the last good table and try again on the next change.
			s.tracker.Failed(err)
		}
	}
}

// mountState is the mount loop's memory between two reads of the table.
type mountState struct {
	raw   []byte
	buf   bytes.Buffer
	known map[int]bool // mount id → treated as removable
}

// applyMountinfo reads the mount table and reports what changed. On the
// first call (initial) existing removable mounts are watched but not
// reported.
func (s *Sensor) applyMountinfo(f *os.File, fw fileWatcher, emit func(event.Event), initial bool) error {
	ms := &s.mstate
	if err := readMountinfo(f, &ms.buf); err != nil {
		return err
	}
	if !initial && bytes.Equal(ms.buf.Bytes(), ms.raw) {
		return nil
	}
	ms.raw = append(ms.raw[:0], ms.buf.Bytes()...)
	mounts, err := parseMountinfo(ms.raw)
	if err != nil {
		return fmt.Errorf("parse %s: %w", f.Name(), err)
	}
	if ms.known == nil {
		ms.known = map[int]bool{}
	}
	seen := make(map[int]bool, len(mounts))
	for i := range mounts {
		m := &mounts[i]
		seen[m.ID] = true
		if _, ok := ms.known[m.ID]; ok {
			continue
		}
		info := s.blockFor(m)
		removable := s.cls.mount(m, info)
		ms.known[m.ID] = removable
		if !removable {
			continue
		}
		v := s.newVolume(m, info)
		s.vols.add(v)
		if err := fw.addMount(v); err != nil {
			s.tracker.Failed(err)
			s.log.Warn("cannot watch removable volume", "mount_point", m.MountPoint, "err", err)
		}
		s.log.Info("removable volume", "mount_point", m.MountPoint, "device", v.ev.DeviceName, "fs_type", m.FSType, "label", v.ev.Label)
		if !initial {
			vol := v.ev
			e := &event.Event{Event: event.Meta{Action: event.ActionVolumeMounted}, Volume: &vol}
			if v.user != "" {
				e.User = &event.User{Name: v.user}
			}
			s.emitEvent(emit, e)
		}
	}
	for id, removable := range ms.known {
		if seen[id] {
			continue
		}
		delete(ms.known, id)
		if !removable {
			continue
		}
		v := s.vols.get(id)
		if v == nil {
			continue
		}
		fw.removeMount(v)
		s.vols.remove(id)
		vol := v.ev
		e := &event.Event{Event: event.Meta{Action: event.ActionVolumeUnmounted}, Volume: &vol}
		if v.user != "" {
			e.User = &event.User{Name: v.user}
		}
		s.emitEvent(emit, e)
	}
	return nil
}

// blockFor finds the block device behind a mount, or nil.
func (s *Sensor) blockFor(m *mount) *blockInfo {
	if m.Major != 0 {
		if b, err := s.sys.byDevno(m.Major, m.Minor); err == nil {
			return b
		}
	}
	// btrfs and a few others report an anonymous device number; the
	// source still names the device.
	if name, ok := strings.CutPrefix(m.Source, "/dev/"); ok && !strings.Contains(name, "/") {
		if b, err := s.sys.byName(name); err == nil {
			return b
		}
	}
	return nil
}

func (s *Sensor) newVolume(m *mount, info *blockInfo) *volume {
	v := &volume{m: *m, info: info, user: mountUser(m.MountPoint)}
	v.ev = event.Volume{
		Removable:      true,
		MountPoint:     m.MountPoint,
		DeviceName:     m.Source,
		FileSystemType: m.FSType,
	}
	if info != nil {
		v.ev.BusType = info.Bus
		v.ev.DeviceName = info.DevNode
		v.ev.VendorName = info.Vendor
		v.ev.ProductName = info.Model
		v.ev.SerialNumber = info.Serial
		v.ev.Size = info.Size
		v.ev.Label = s.label(info.DevNode, m.FSType)
	}
	return v
}

// label reads a filesystem label from the device's superblock, falling
// back to the /dev/disk/by-label links that udev keeps.
func (s *Sensor) label(devNode, fsType string) string {
	if f, err := os.Open(devNode); err == nil {
		l, err := readLabel(f, fsType)
		_ = f.Close()
		if err == nil {
			return l
		}
	}
	const byLabel = "/dev/disk/by-label"
	ents, err := os.ReadDir(byLabel)
	if err != nil {
		return ""
	}
	for _, e := range ents {
		t, err := filepath.EvalSymlinks(byLabel + "/" + e.Name())
		if err == nil && t == devNode {
			return printable(unescapeUdev(e.Name()))
		}
	}
	return ""
}

// unescapeUdev undoes udev's \xNN escapes in /dev/disk/by-label names.
func unescapeUdev(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				out = append(out, byte(v))
				i += 3
				continue
			}
		}
		out = append(out, s[i])
	}
	return string(out)
}

// dedupe remembers the last reported state of each path, so that a file
// closed again without being changed (opened read-write, closed) is not
// reported twice.
type dedupe struct {
	mu sync.Mutex
	m  map[string]fileState
}

type fileState struct {
	ino   uint64
	size  int64
	mtime int64
}

// fresh records st for path and reports whether it differs from the last
// reported state.
func (d *dedupe) fresh(path string, st fileState) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.m[path]; ok && old == st {
		return false
	}
	if d.m == nil || len(d.m) >= 16384 {
		d.m = make(map[string]fileState, 1024)
	}
	d.m[path] = st
	return true
}

// hashBacklogWait is how long a settled file may wait in fsnotify mode for
// room in the hash queue before it is reported without a hash.
const hashBacklogWait = 30 * time.Second

// errQueueFull is counted when a file is reported without a hash because
// too many were waiting.
var errQueueFull = errors.New("hash queue full: file reported without a hash")
