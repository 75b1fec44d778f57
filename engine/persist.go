package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-itm/vigil/engine/state"
	"github.com/vigil-itm/vigil/internal/atomicfile"
)

// Rule state files hold the state of every stateful rule of a Program —
// threshold windows, sequences in progress, first-seen values, baselines,
// suppressions — so that a restarted agent or server goes on where it
// stopped instead of relearning: a first_seen rule with a 30-day learning
// period that forgot everything at each restart would stay silent on any
// machine restarted more than monthly.
//
// Format, version 1 (integers little-endian or uvarint):
//
//	header   "VGRS" | version (1 byte)
//	record   rule id (uvarint length, bytes) | slot (1 byte) |
//	         snapshot length (uvarint) | snapshot (engine/state's format)
//	end      a rule id of length 0
//	trailer  CRC-32 IEEE of everything before it (4 bytes)
//
// A file is checked whole (structure and checksum) before any rule's state
// is touched, so a damaged file restores nothing.
const (
	stateFileMagic   = "VGRS"
	stateFileVersion = 1
	// MaxStateFileBytes bounds the rule state file ReadState accepts.
	MaxStateFileBytes = 1 << 30
)

// DefaultStateInterval is how often the agent and the server save rule
// state unless configured otherwise.
const DefaultStateInterval = time.Minute

// ErrStateFile is wrapped by ReadState and LoadState for input that is not
// a valid rule state file.
var ErrStateFile = errors.New("invalid rule state file")

// Slots of a rule's state, as recorded in a state file.
const (
	slotThreshold byte = 1 + iota
	slotSequence
	slotFirstSeen
	slotBaseline
	slotSuppress
)

var slotNames = map[byte]string{
	slotThreshold: "threshold", slotSequence: "sequence", slotFirstSeen: "first_seen",
	slotBaseline: "baseline", slotSuppress: "suppress",
}

// snapshotter is what each kind of rule state offers.
type snapshotter interface {
	Snapshot(w io.Writer) error
	Restore(r io.Reader) error
}

// slots returns the rule's stateful parts by slot; absent ones are nil.
func (cr *compiledRule) slots() map[byte]snapshotter {
	out := map[byte]snapshotter{}
	if cr.threshold != nil {
		out[slotThreshold] = cr.threshold
	}
	if cr.sequence != nil {
		out[slotSequence] = cr.sequence
	}
	if cr.firstSeen != nil {
		out[slotFirstSeen] = cr.firstSeen
	}
	if cr.baseline != nil {
		out[slotBaseline] = cr.baseline
	}
	if cr.suppress != nil {
		out[slotSuppress] = cr.suppress
	}
	return out
}

// StateReport says what ReadState did with each rule's state.
type StateReport struct {
	// Restored counts the states put back (one rule may have two: its
	// window and its suppression).
	Restored int `json:"restored"`
	// Discarded lists the states left out, each as "rule (kind): reason":
	// the rule is gone from the bundle, no longer keeps that kind of state,
	// or its definition changed so that the old state would be misread.
	Discarded []string `json:"discarded,omitempty"`
}

// WriteState writes the state of every stateful rule to w. Each rule's
// state is consistent per key (see engine/state); evaluation may go on
// meanwhile.
func (p *Program) WriteState(w io.Writer) error {
	var body bytes.Buffer
	body.WriteString(stateFileMagic)
	body.WriteByte(stateFileVersion)
	var snap bytes.Buffer
	for _, cr := range p.rules {
		s := cr.slots()
		for slot := slotThreshold; slot <= slotSuppress; slot++ {
			st, ok := s[slot]
			if !ok {
				continue
			}
			snap.Reset()
			if err := st.Snapshot(&snap); err != nil {
				return fmt.Errorf("rule %s: %w", cr.rule.ID, err)
			}
			body.Write(binary.AppendUvarint(nil, uint64(len(cr.rule.ID))))
			body.WriteString(cr.rule.ID)
			body.WriteByte(slot)
			body.Write(binary.AppendUvarint(nil, uint64(snap.Len())))
			body.Write(snap.Bytes())
		}
	}
	body.WriteByte(0) // end: an empty rule id
	sum := binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(body.Bytes()))
	if _, err := w.Write(body.Bytes()); err != nil {
		return fmt.Errorf("write rule state: %w", err)
	}
	if _, err := w.Write(sum); err != nil {
		return fmt.Errorf("write rule state: %w", err)
	}
	return nil
}

// stateRecord is one rule's state of one kind, as read from a file.
type stateRecord struct {
	rule string
	slot byte
	snap []byte
}

// parseStateFile checks a whole rule state file and returns its records.
func parseStateFile(data []byte) ([]stateRecord, error) {
	if len(data) < len(stateFileMagic)+1+1+4 {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrStateFile, len(data))
	}
	if string(data[:len(stateFileMagic)]) != stateFileMagic {
		return nil, fmt.Errorf("%w: not a rule state file", ErrStateFile)
	}
	if v := data[len(stateFileMagic)]; v != stateFileVersion {
		return nil, fmt.Errorf("%w: unsupported version %d", ErrStateFile, v)
	}
	body, trailer := data[:len(data)-4], data[len(data)-4:]
	if got, want := crc32.ChecksumIEEE(body), binary.LittleEndian.Uint32(trailer); got != want {
		return nil, fmt.Errorf("%w: checksum mismatch (damaged or truncated)", ErrStateFile)
	}
	rest := body[len(stateFileMagic)+1:]
	var out []stateRecord
	for n := 0; ; n++ {
		idLen, k := binary.Uvarint(rest)
		if k <= 0 || idLen > uint64(len(rest)-k) {
			return nil, fmt.Errorf("%w: record %d: bad rule id length", ErrStateFile, n)
		}
		rest = rest[k:]
		if idLen == 0 {
			if len(rest) != 0 {
				return nil, fmt.Errorf("%w: %d bytes after the end record", ErrStateFile, len(rest))
			}
			return out, nil
		}
		rec := stateRecord{rule: string(rest[:idLen])}
		rest = rest[idLen:]
		if len(rest) == 0 {
			return nil, fmt.Errorf("%w: record %d (rule %s): truncated", ErrStateFile, n, rec.rule)
		}
		rec.slot, rest = rest[0], rest[1:]
		if _, ok := slotNames[rec.slot]; !ok {
			return nil, fmt.Errorf("%w: record %d (rule %s): unknown state kind %d", ErrStateFile, n, rec.rule, rec.slot)
		}
		snapLen, k := binary.Uvarint(rest)
		if k <= 0 || snapLen > uint64(len(rest)-k) {
			return nil, fmt.Errorf("%w: record %d (rule %s): bad snapshot length", ErrStateFile, n, rec.rule)
		}
		rest = rest[k:]
		rec.snap, rest = rest[:snapLen], rest[snapLen:]
		out = append(out, rec)
	}
}

// ReadState restores rule state written by WriteState, possibly by a
// Program compiled from another revision of the bundle: each rule gets back
// the state kept under its id when it still keeps that kind of state and
// its definition did not change in a way that changes the state's meaning
// (engine/state refuses such snapshots). Everything else is discarded and
// listed in the report. A file that is not a valid state file as a whole
// restores nothing and gives an error wrapping ErrStateFile.
func (p *Program) ReadState(r io.Reader) (StateReport, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxStateFileBytes+1))
	if err != nil {
		return StateReport{}, fmt.Errorf("read rule state: %w", err)
	}
	if len(data) > MaxStateFileBytes {
		return StateReport{}, fmt.Errorf("%w: larger than %d bytes", ErrStateFile, MaxStateFileBytes)
	}
	recs, err := parseStateFile(data)
	if err != nil {
		return StateReport{}, err
	}
	var rep StateReport
	for _, rec := range recs {
		name := rec.rule + " (" + slotNames[rec.slot] + ")"
		cr, ok := p.byID[rec.rule]
		if !ok {
			rep.Discarded = append(rep.Discarded, name+": no such rule in this bundle")
			continue
		}
		s, ok := cr.slots()[rec.slot]
		if !ok {
			rep.Discarded = append(rep.Discarded, name+": the rule no longer keeps this kind of state")
			continue
		}
		switch err := s.Restore(bytes.NewReader(rec.snap)); {
		case err == nil:
			rep.Restored++
		case errors.Is(err, state.ErrSnapshotMismatch):
			rep.Discarded = append(rep.Discarded, name+": the rule's definition changed")
		default:
			rep.Discarded = append(rep.Discarded, name+": "+err.Error())
		}
	}
	return rep, nil
}

// SaveState writes the rule state to path atomically: a reader (or a crash)
// sees the previous file or the new one, never a mix. The file is readable
// by its owner only: state keys name users, hosts and the values rules
// remember about them.
func (p *Program) SaveState(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save rule state: %w", err)
	}
	if err := atomicfile.Write(path, 0o600, p.WriteState); err != nil {
		return fmt.Errorf("save rule state: %w", err)
	}
	return nil
}

// LoadState restores the rule state saved at path (see ReadState). A
// missing file restores nothing and is not an error: a first start.
func (p *Program) LoadState(path string) (StateReport, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return StateReport{}, nil
	}
	if err != nil {
		return StateReport{}, fmt.Errorf("load rule state: %w", err)
	}
	defer func() { _ = f.Close() }() // read only
	rep, err := p.ReadState(f)
	if err != nil {
		return rep, fmt.Errorf("load rule state from %s: %w", path, err)
	}
	return rep, nil
}

// LoadState restores the active Program's rule state from path (see
// Program.LoadState) and logs what was restored and discarded. A damaged
// file is renamed to path + ".damaged", so that it is kept for inspection
// and not read again, and the engine starts with empty state; only a file
// that cannot be read or moved at all gives an error.
func (l *Live) LoadState(path string) (StateReport, error) {
	rep, err := l.Program().LoadState(path)
	switch {
	case errors.Is(err, ErrStateFile):
		aside := path + ".damaged"
		if rerr := os.Rename(path, aside); rerr != nil {
			return rep, fmt.Errorf("%w (and moving it aside failed: %w)", err, rerr)
		}
		l.logger.Warn("rule state file damaged; starting with empty rule state", "err", err, "kept_as", aside)
		return rep, nil
	case err != nil:
		return rep, err
	}
	if rep.Restored > 0 || len(rep.Discarded) > 0 {
		l.logger.Info("rule state restored", "path", path, "restored", rep.Restored, "discarded", len(rep.Discarded))
		for _, d := range rep.Discarded {
			l.logger.Info("rule state discarded", "state", d)
		}
	}
	return rep, nil
}

// SaveState saves the active Program's rule state to path (see
// Program.SaveState).
func (l *Live) SaveState(path string) error { return l.Program().SaveState(path) }

// SaveStateEvery saves the active Program's rule state to path every
// interval until ctx ends. A failed save is logged and retried at the next
// interval. Callers save once more when they stop, after their last
// evaluation.
func (l *Live) SaveStateEvery(ctx context.Context, path string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := l.SaveState(path)
		switch {
		case err != nil && !failing:
			l.logger.Error("saving rule state failed; retrying every interval", "err", err, "interval", every)
		case err != nil:
			l.logger.Debug("saving rule state failed again", "err", err)
		case failing:
			l.logger.Info("rule state saved again", "path", path)
		}
		failing = err != nil
	}
}
