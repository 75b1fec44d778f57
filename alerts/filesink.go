package alerts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// fileSender appends one payload per line to a file, rotating it by size:
// path → path.1 → … → path.N, the oldest dropped. A sink that streams
// alerts and events writes both through one fileSender, so it is safe for
// concurrent use; each batch is written whole, never interleaved.
type fileSender struct {
	cfg  FileConfig
	mu   sync.Mutex
	f    *os.File
	size int64
	buf  []byte
}

func newFileSender(cfg FileConfig) *fileSender { return &fileSender{cfg: cfg} }

func (s *fileSender) limits() (items, bytes int) { return 500, 4 << 20 }

func (s *fileSender) send(ctx context.Context, batch []*DeadLetter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return err
	}
	s.buf = s.buf[:0]
	for _, e := range batch {
		s.buf = append(append(s.buf, e.payload...), '\n')
	}
	if s.size > 0 && s.size+int64(len(s.buf)) > s.cfg.MaxBytes {
		if err := s.rotate(); err != nil {
			return err
		}
		if err := s.open(); err != nil {
			return err
		}
	}
	n, err := s.f.Write(s.buf)
	s.size += int64(n)
	if err != nil {
		// A partial line may be left; the batch is written again whole.
		_ = s.f.Close()
		s.f = nil
		return fmt.Errorf("write %s: %w", s.cfg.Path, err)
	}
	return nil
}

func (s *fileSender) open() error {
	if s.f != nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.cfg.Path), 0o700); err != nil {
		return fmt.Errorf("create directory of %s: %w", s.cfg.Path, err)
	}
	f, err := os.OpenFile(s.cfg.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", s.cfg.Path, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("stat %s: %w", s.cfg.Path, err)
	}
	s.f, s.size = f, st.Size()
	return nil
}

func (s *fileSender) rotate() error {
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", s.cfg.Path, err)
	}
	s.f = nil
	if s.cfg.MaxFiles == 0 {
		if err := os.Remove(s.cfg.Path); err != nil {
			return fmt.Errorf("rotate %s: %w", s.cfg.Path, err)
		}
		return nil
	}
	for i := s.cfg.MaxFiles - 1; i >= 1; i-- {
		old := fmt.Sprintf("%s.%d", s.cfg.Path, i)
		if _, err := os.Stat(old); err == nil {
			if err := os.Rename(old, fmt.Sprintf("%s.%d", s.cfg.Path, i+1)); err != nil {
				return fmt.Errorf("rotate %s: %w", old, err)
			}
		}
	}
	if err := os.Rename(s.cfg.Path, s.cfg.Path+".1"); err != nil {
		return fmt.Errorf("rotate %s: %w", s.cfg.Path, err)
	}
	return nil
}

func (s *fileSender) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
