// Package cert imports the CERT Insider Threat Test Dataset, the public
// synthetic benchmark of insider-threat research, into Vigil events, so
// that a policy bundle can be replayed against it.
//
// A release of the dataset is a directory of CSV files, one per kind of
// activity (logon.csv, device.csv, file.csv, email.csv, http.csv), each
// sorted by date, and monthly LDAP snapshots (LDAP/YYYY-MM.csv). Stream
// reads the activity files side by side and merges them into one stream in
// time order, keeping one batch of rows per file in memory, so files of
// tens of gigabytes import in flat memory. Columns are found by their
// header names, so the layouts of the different releases all read.
// docs/cert-import.md gives the mapping of every file and column.
//
// The package imports only the event package.
package cert

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-itm/vigil/event"
)

// Options tune the import.
type Options struct {
	// Location is the time zone the dataset's local times are in (default UTC).
	Location *time.Location
	// Domain is put in user.domain (default "DTAA", the dataset's fictional company).
	Domain string
	// InternalDomains are e-mail domains counted as internal (default ["dtaa.com"]).
	InternalDomains []string
}

// Stats reports what an import read and skipped.
type Stats struct {
	Rows    map[string]int64 // per file (logon.csv, …): rows read
	Events  int64            // events emitted
	Skipped map[string]int64 // reason → count (e.g. "bad date", "wrong column count", "unknown activity")
	Users   int              // users known from LDAP snapshots
}

// config is Options with the defaults applied.
type config struct {
	loc      *time.Location
	tz       string
	domain   string
	internal []string
}

func newConfig(opts Options) *config {
	c := &config{loc: opts.Location, domain: opts.Domain}
	if c.loc == nil {
		c.loc = time.UTC
	}
	c.tz = c.loc.String()
	if c.domain == "" {
		c.domain = "DTAA"
	}
	for _, d := range opts.InternalDomains {
		d = strings.ToLower(strings.Trim(strings.TrimSpace(d), "@."))
		if d != "" {
			c.internal = append(c.internal, d)
		}
	}
	if len(c.internal) == 0 {
		c.internal = []string{"dtaa.com"}
	}
	return c
}

// Tuning of the pipeline: each file is parsed on its own goroutine and
// handed over in batches; at most batchSize*(queueLen+2) events per file
// are in memory at once.
const (
	batchSize     = 256
	queueLen      = 2
	progressEvery = 1 << 20 // bytes
)

// Stream reads the dataset in dir and calls fn for every event in time order, merging the
// per-type CSV files (each sorted by date) with a k-way merge, so memory stays flat for files
// of tens of GB. It never loads a whole file. A row it cannot use is skipped and counted in
// Stats.Skipped with a reason; fn's error stops the import and is returned. progress, if not
// nil, is called now and then with bytes read so far and total bytes.
//
// Events are normalised and valid. Events of the same second keep the
// order of their file and come in the order logon, device, file, email,
// http across files. A row dated before an event already emitted (a file
// out of date order) is skipped as "out of order". The reasons a row is
// skipped are "wrong column count", "bad date", "unknown activity",
// "unmapped activity" (a known activity with no Vigil action: file opens,
// e-mail views), "missing field" (empty user, pc, file name or URL), "bad
// value" (a size, count or boolean that does not parse), "bad quoting" (a
// quoted field still open at the end of the file), "row too long" (over
// 1 MiB without the content column), "out of order" and "invalid event".
//
// Files the dataset has but Vigil has no use for (psychometric.csv,
// decoy_file.csv, ...) are ignored. A missing activity file is simply not
// read, but dir must hold at least one. A header without a column the file
// needs, or a failing read, is an error. fn and progress are called from
// the caller's goroutine, never concurrently.
func Stream(dir string, opts Options, fn func(*event.Event) error, progress func(read, total int64)) (Stats, error) {
	st := Stats{Rows: map[string]int64{}, Skipped: map[string]int64{}}
	cfg := newConfig(opts)
	files, ldapDir, err := findFiles(dir)
	if err != nil {
		return st, err
	}
	var read atomic.Int64
	total := int64(0)
	for _, f := range files {
		total += f.size
	}
	total += dirSize(ldapDir)
	if progress != nil {
		progress(0, total)
	}
	directory, err := loadDirectory(ldapDir, cfg.loc, &st, &read)
	if err != nil {
		return st, err
	}

	// Open every file and read its header before starting anything, so that
	// a bad file stops the import before the first event.
	var srcs []*source
	defer func() {
		for _, s := range srcs {
			_ = s.f.Close() // read only
		}
	}()
	for _, fi := range files {
		s, err := openSource(fi, cfg, directory, &read)
		if err != nil {
			return st, err
		}
		if s != nil {
			srcs = append(srcs, s)
		}
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			close(done)
			wg.Wait()
		}
	}
	defer stop() // also when fn panics: the readers end before their files close
	for _, s := range srcs {
		wg.Go(func() { s.run(done) })
	}

	reported := int64(0)
	err = merge(srcs, &st, fn, func() {
		if n := read.Load(); progress != nil && n-reported >= progressEvery {
			reported = n
			progress(n, total)
		}
	})
	stop()
	for _, s := range srcs {
		st.Rows[s.name] += s.m.row
		for r, n := range s.m.skipped {
			st.Skipped[r] += n
		}
	}
	if err != nil {
		return st, err
	}
	if progress != nil {
		progress(read.Load(), total)
	}
	return st, nil
}

// merge calls fn for the events of all sources in time order: a k-way merge
// over the sources' heads (k is at most five, so the smallest head is found
// by a scan). tick is called after every batch taken from a source.
func merge(srcs []*source, st *Stats, fn func(*event.Event) error, tick func()) error {
	type head struct {
		s     *source
		batch []*event.Event
		i     int
	}
	heads := make([]*head, 0, len(srcs))
	for _, s := range srcs {
		if b, ok := <-s.out; ok {
			heads = append(heads, &head{s: s, batch: b})
		} else if s.err != nil {
			return s.readError()
		}
	}
	tick()
	var last time.Time
	for len(heads) > 0 {
		best := 0
		for j := 1; j < len(heads); j++ {
			if heads[j].batch[heads[j].i].Timestamp.Before(heads[best].batch[heads[best].i].Timestamp) {
				best = j
			}
		}
		h := heads[best]
		e := h.batch[h.i]
		h.batch[h.i] = nil
		if e.Timestamp.Before(last) {
			st.Skipped[reasonOutOfOrder]++
		} else {
			last = e.Timestamp
			if err := fn(e); err != nil {
				return err
			}
			st.Events++
		}
		h.i++
		if h.i == len(h.batch) {
			b, ok := <-h.s.out
			switch {
			case ok:
				h.batch, h.i = b, 0
			case h.s.err != nil: // stop at once: going on would merge without this file
				return h.s.readError()
			default:
				heads = append(heads[:best], heads[best+1:]...)
			}
			tick()
		}
	}
	return nil
}

// fileInfo is an activity file found in the dataset directory.
type fileInfo struct {
	kind kind
	name string // as in the directory
	path string
	size int64
}

// findFiles lists the activity files of dir, in kind order, and the LDAP
// directory ("" when there is none). Names match without regard to case.
func findFiles(dir string) ([]fileInfo, string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, "", fmt.Errorf("cert: read dataset directory: %w", err)
	}
	var files []fileInfo
	ldap := ""
	for k := range numKinds {
		for _, e := range ents {
			if e.IsDir() || !strings.EqualFold(e.Name(), kinds[k].file) {
				continue
			}
			info, err := e.Info()
			if err != nil {
				return nil, "", fmt.Errorf("cert: %w", err)
			}
			files = append(files, fileInfo{kind: k, name: e.Name(), path: filepath.Join(dir, e.Name()), size: info.Size()})
			break
		}
	}
	for _, e := range ents {
		if e.IsDir() && strings.EqualFold(e.Name(), "LDAP") {
			ldap = filepath.Join(dir, e.Name())
			break
		}
	}
	if len(files) == 0 {
		names := make([]string, numKinds)
		for k := range numKinds {
			names[k] = kinds[k].file
		}
		return nil, "", fmt.Errorf("cert: no dataset files (%s) in %s", strings.Join(names, ", "), dir)
	}
	return files, ldap, nil
}

// dirSize adds up the sizes of the LDAP snapshots.
func dirSize(dir string) int64 {
	if dir == "" {
		return 0
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0 // loadDirectory reports it
	}
	var n int64
	for _, e := range ents {
		if snapshotName.MatchString(e.Name()) && !e.IsDir() {
			if info, err := e.Info(); err == nil {
				n += info.Size()
			}
		}
	}
	return n
}

// source is one activity file being read on its own goroutine.
type source struct {
	name string
	f    *os.File
	m    *mapper
	out  chan []*event.Event
	err  error // read error; set before out is closed
}

// readError reports the source's read error.
func (s *source) readError() error {
	return fmt.Errorf("cert: read %s: %w", s.name, s.err)
}

// openSource opens a file and reads its header. It returns nil for an
// empty file.
func openSource(fi fileInfo, cfg *config, dir *directory, read *atomic.Int64) (*source, error) {
	f, err := os.Open(fi.path)
	if err != nil {
		return nil, fmt.Errorf("cert: %w", err)
	}
	r := newCSVReader(f, read)
	if !r.next() {
		_ = f.Close() // read only
		if r.err != nil {
			return nil, fmt.Errorf("cert: read %s: %w", fi.name, r.err)
		}
		return nil, nil
	}
	cols := headerIndex(r)
	var missing []string
	for _, c := range kinds[fi.kind].required {
		if cols.get(c) < 0 {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		_ = f.Close() // read only
		return nil, fmt.Errorf("cert: %s: the header has no column %s", fi.name, strings.Join(missing, ", "))
	}
	return &source{
		name: fi.name,
		f:    f,
		m:    newMapper(fi.kind, newLayout(cols, r.nfields), cfg, dir, r),
		out:  make(chan []*event.Event, queueLen),
	}, nil
}

// run parses the file and sends its events in batches until the file ends
// or done is closed.
func (s *source) run(done <-chan struct{}) {
	defer close(s.out)
	batch := make([]*event.Event, 0, batchSize)
	send := func() bool {
		select {
		case s.out <- batch:
			batch = make([]*event.Event, 0, batchSize)
			return true
		case <-done:
			return false
		}
	}
	for {
		e := s.m.next()
		if e == nil {
			break
		}
		batch = append(batch, e)
		if len(batch) == batchSize && !send() {
			return
		}
	}
	if err := s.m.r.err; err != nil && !errors.Is(err, io.EOF) {
		s.err = err
	}
	if len(batch) > 0 {
		send()
	}
}
