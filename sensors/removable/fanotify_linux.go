package removable

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-itm/vigil/event"
)

// fanWatcher sees writes on removable volumes through fanotify mount marks
// (FAN_MARK_MOUNT): FAN_CLOSE_WRITE gives the written file as an open
// descriptor and the pid of the process that closed it; FAN_OPEN_PERM (or
// FAN_OPEN) on the same mount gives the moment the writer opened it, when
// the process is surely alive, to read its identity and its open files.
type fanWatcher struct {
	s    *Sensor
	fd   int
	jobs chan<- hashJob
	emit func(event.Event)
	// perm says whether marks carry FAN_OPEN_PERM; it turns false for good
	// if the kernel refuses permission events.
	perm atomic.Bool
	// refused says the kernel refused permission events at fanotify_init.
	refused atomic.Bool

	// procs and openers are owned by the run goroutine.
	procs map[int]*procEntry
	// openers maps a path on a removable volume to the last process
	// (other than this one) seen opening it, until its close-write.
	openers map[string]int

	closeOnce sync.Once
}

// procEntry is what the reader learnt about a process when it opened files
// on a removable volume.
type procEntry struct {
	info procInfo
	seen time.Time
	// srcs maps a destination path to the candidate sources the process
	// had open when it opened that destination.
	srcs map[string][]srcFile
}

// maxProcs bounds the process cache; entries older than procTTL go first.
// maxOpeners bounds the opener map; it is emptied when full.
const (
	maxProcs   = 1024
	procTTL    = time.Minute
	maxOpeners = 4096
)

func newFanotify(s *Sensor, jobs chan<- hashJob, emit func(event.Event)) (*fanWatcher, error) {
	perm := s.cfg.ProcessAttribution == AttributionPermission
	class := uint(unix.FAN_CLASS_NOTIF)
	if perm {
		class = unix.FAN_CLASS_CONTENT
	}
	const eventFlags = unix.O_RDONLY | unix.O_LARGEFILE | unix.O_CLOEXEC
	fd, err := unix.FanotifyInit(class|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK, eventFlags)
	refused := false
	if perm && errors.Is(err, unix.EINVAL) {
		// A kernel without CONFIG_FANOTIFY_ACCESS_PERMISSIONS refuses the
		// content class itself.
		perm, refused = false, true
		fd, err = unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK, eventFlags)
	}
	if err != nil {
		return nil, fmt.Errorf("fanotify_init: %w", err)
	}
	w := &fanWatcher{s: s, fd: fd, jobs: jobs, emit: emit, procs: map[int]*procEntry{}, openers: map[string]int{}}
	w.perm.Store(perm)
	w.refused.Store(refused)
	return w, nil
}

func (w *fanWatcher) describe() string {
	if w.perm.Load() {
		return "fanotify mount marks: close-write events, writer identified at open (permission events)"
	}
	msg := "fanotify mount marks: close-write events, writer identified at open (notification events)"
	if w.refused.Load() {
		msg += "; permission events refused by the kernel, a writer that exits at once may go unnamed"
	}
	return msg
}

func (w *fanWatcher) mask() uint64 {
	m := uint64(unix.FAN_CLOSE_WRITE)
	if w.perm.Load() {
		return m | unix.FAN_OPEN_PERM
	}
	return m | unix.FAN_OPEN
}

func (w *fanWatcher) addMount(v *volume) error {
	err := unix.FanotifyMark(w.fd, unix.FAN_MARK_ADD|unix.FAN_MARK_MOUNT, w.mask(), unix.AT_FDCWD, v.m.MountPoint)
	if err != nil && w.perm.Load() && errors.Is(err, unix.EINVAL) {
		// The kernel was built without CONFIG_FANOTIFY_ACCESS_PERMISSIONS.
		w.perm.Store(false)
		w.refused.Store(true)
		w.s.setFileStatus(ModeFanotify, true, w.describe())
		err = unix.FanotifyMark(w.fd, unix.FAN_MARK_ADD|unix.FAN_MARK_MOUNT, w.mask(), unix.AT_FDCWD, v.m.MountPoint)
	}
	if err != nil {
		return fmt.Errorf("fanotify mark mount %q: %w", v.m.MountPoint, err)
	}
	return nil
}

func (w *fanWatcher) removeMount(v *volume) {
	// The kernel drops a mount's marks when the mount goes; this only
	// matters for a volume that stops counting as removable.
	_ = unix.FanotifyMark(w.fd, unix.FAN_MARK_REMOVE|unix.FAN_MARK_MOUNT,
		unix.FAN_CLOSE_WRITE|unix.FAN_OPEN_PERM|unix.FAN_OPEN, unix.AT_FDCWD, v.m.MountPoint)
}

func (w *fanWatcher) close() {
	w.closeOnce.Do(func() { _ = unix.Close(w.fd) })
}

// metaSize is sizeof(struct fanotify_event_metadata).
const metaSize = int(unsafe.Sizeof(unix.FanotifyEventMetadata{}))

func (w *fanWatcher) run(ctx context.Context, st *stopper) error {
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(w.fd, buf)
		switch {
		case errors.Is(err, unix.EAGAIN):
			_, stopped, werr := st.wait(w.fd, unix.POLLIN, -1)
			if werr != nil {
				return fmt.Errorf("wait for fanotify events: %w", werr)
			}
			if stopped {
				return nil
			}
			continue
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return fmt.Errorf("read fanotify events: %w", err)
		}
		if err := w.handle(buf[:n]); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// handle processes one read's worth of events. Every descriptor the kernel
// handed over is closed (or passed on to a hash job), and every permission
// event is answered.
func (w *fanWatcher) handle(b []byte) error {
	for len(b) >= metaSize {
		var m unix.FanotifyEventMetadata
		m.Event_len = binary.NativeEndian.Uint32(b[0:])
		m.Vers = b[4]
		m.Metadata_len = binary.NativeEndian.Uint16(b[6:])
		m.Mask = binary.NativeEndian.Uint64(b[8:])
		m.Fd = int32(binary.NativeEndian.Uint32(b[16:]))
		m.Pid = int32(binary.NativeEndian.Uint32(b[20:]))
		if m.Vers != unix.FANOTIFY_METADATA_VERSION {
			return fmt.Errorf("fanotify: metadata version %d, want %d", m.Vers, unix.FANOTIFY_METADATA_VERSION)
		}
		if int(m.Event_len) < metaSize || int(m.Event_len) > len(b) {
			return fmt.Errorf("fanotify: event length %d out of range", m.Event_len)
		}
		b = b[m.Event_len:]
		w.one(&m)
	}
	return nil
}

func (w *fanWatcher) one(m *unix.FanotifyEventMetadata) {
	if m.Mask&unix.FAN_Q_OVERFLOW != 0 {
		w.s.tracker.Failed(errors.New("fanotify queue overflow: writes were missed"))
		return
	}
	fd := int(m.Fd)
	if fd < 0 {
		return
	}
	pid := int(m.Pid)
	path, err := fdPath(fd)
	if m.Mask&(unix.FAN_OPEN_PERM|unix.FAN_OPEN) != 0 && pid != w.s.self && err == nil {
		w.noteOpen(pid, path)
	}
	if m.Mask&unix.FAN_OPEN_PERM != 0 {
		w.allow(fd)
	}
	if m.Mask&unix.FAN_CLOSE_WRITE == 0 || err != nil {
		_ = unix.Close(fd)
		return
	}
	opener, opened := w.openers[path]
	delete(w.openers, path)
	if pid == w.s.self {
		// The kernel names the process that dropped the last reference
		// to the written file. Reading a writer's /proc/PID/fd and
		// fdinfo takes a passing reference, so a writer that closes the
		// file at that moment leaves the last drop, and the event, to
		// this process. The writer is the one seen opening the file.
		// Without one, this is the sensor's own write: not reported.
		if !opened {
			_ = unix.Close(fd)
			return
		}
		pid = opener
	}
	vol := w.s.vols.lookup(path)
	if vol == nil {
		_ = unix.Close(fd)
		return
	}
	j := hashJob{fd: fd, path: path, vol: vol, at: time.Now()}
	if e := w.procs[pid]; e != nil && time.Since(e.seen) < procTTL && w.sameProcess(pid, e) {
		info := e.info
		j.proc = &info
		j.srcs = e.srcs[path]
		delete(e.srcs, path)
	} else if info, err := readProc(pid); err == nil {
		j.proc = &info
	} else {
		j.proc = &procInfo{PID: pid}
	}
	w.s.queue(w.jobs, j, w.emit)
}

// sameProcess reports whether pid still is (or, gone, last was) the
// process cached in e, and not a new one that reused its pid.
func (w *fanWatcher) sameProcess(pid int, e *procEntry) bool {
	start, err := procStart(pid)
	return err != nil || start == e.info.Start
}

// allow answers a permission event; the process waits until it is sent.
func (w *fanWatcher) allow(fd int) {
	var r [8]byte
	binary.NativeEndian.PutUint32(r[0:], uint32(int32(fd)))
	binary.NativeEndian.PutUint32(r[4:], unix.FAN_ALLOW)
	if _, err := unix.Write(w.fd, r[:]); err != nil {
		w.s.tracker.Failed(fmt.Errorf("answer fanotify permission event: %w", err))
	}
}

// noteOpen records who opened a file on a removable volume, and which
// files it had open elsewhere at that moment.
func (w *fanWatcher) noteOpen(pid int, dst string) {
	if len(w.openers) >= maxOpeners {
		clear(w.openers)
	}
	w.openers[dst] = pid
	start, err := procStart(pid)
	if err != nil {
		return
	}
	e := w.procs[pid]
	if e == nil || e.info.Start != start {
		info, err := readProc(pid)
		if err != nil {
			return
		}
		w.pruneProcs()
		e = &procEntry{info: info, srcs: map[string][]srcFile{}}
		w.procs[pid] = e
	}
	e.seen = time.Now()
	if !w.s.cfg.SourceTracking {
		return
	}
	if len(e.srcs) >= 64 {
		clear(e.srcs)
	}
	e.srcs[dst] = openFiles(pid, func(p string) bool { return w.s.vols.lookup(p) != nil })
}

func (w *fanWatcher) pruneProcs() {
	if len(w.procs) < maxProcs {
		return
	}
	now := time.Now()
	for pid, e := range w.procs {
		if now.Sub(e.seen) > procTTL {
			delete(w.procs, pid)
		}
	}
	if len(w.procs) >= maxProcs {
		clear(w.procs)
	}
}

// fdPath returns the path of one of this process's descriptors.
func fdPath(fd int) (string, error) {
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return "", fmt.Errorf("resolve fanotify descriptor: %w", err)
	}
	if strings.HasSuffix(p, " (deleted)") || !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("resolve fanotify descriptor: %q is gone", p)
	}
	return p, nil
}
