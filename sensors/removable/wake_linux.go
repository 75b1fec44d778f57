package removable

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// stopper lets goroutines blocked in poll(2) be woken when the sensor
// stops: an eventfd that becomes readable, and stays readable, once fired.
type stopper struct {
	efd int
}

func newStopper() (*stopper, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("create eventfd: %w", err)
	}
	return &stopper{efd: fd}, nil
}

// fire wakes every waiter, now and later.
func (s *stopper) fire() {
	one := [8]byte{1}
	_, _ = unix.Write(s.efd, one[:])
}

func (s *stopper) close() { _ = unix.Close(s.efd) }

// wait blocks until fd reports one of events, the stopper fires or
// timeoutMs passes (-1: no timeout). It reports whether fd is ready and
// whether the stopper fired.
func (s *stopper) wait(fd int, events int16, timeoutMs int) (ready, stopped bool, err error) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: events}, {Fd: int32(s.efd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, timeoutMs)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return false, false, fmt.Errorf("poll: %w", err)
		}
		break
	}
	return fds[0].Revents != 0, fds[1].Revents != 0, nil
}

// pollPri is the poll(2) event /proc/<pid>/mountinfo raises on a change.
const pollPri = unix.POLLPRI
