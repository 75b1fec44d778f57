package evidence

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// pkgWriter writes the files of a package into a directory and records
// their hashes and sizes for the manifest.
type pkgWriter struct {
	dir   string
	files []FileEntry
}

func (w *pkgWriter) write(rel string, data []byte) error {
	_, err := w.writeSum(rel, data)
	return err
}

// writeSum is write that also returns the file's SHA-256.
func (w *pkgWriter) writeSum(rel string, data []byte) ([32]byte, error) {
	full := filepath.Join(w.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
		return [32]byte{}, fmt.Errorf("write %s: %w", rel, err)
	}
	if err := os.WriteFile(full, data, 0o600); err != nil {
		return [32]byte{}, fmt.Errorf("write %s: %w", rel, err)
	}
	s := sha256.Sum256(data)
	w.files = append(w.files, FileEntry{Path: rel, SHA256: hex.EncodeToString(s[:]), Size: int64(len(data))})
	return s, nil
}

func (w *pkgWriter) writeJSONL(rel string, n int, item func(i int) any) error {
	var b strings.Builder
	for i := range n {
		line, err := json.Marshal(item(i))
		if err != nil {
			return fmt.Errorf("encode %s line %d: %w", rel, i+1, err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return w.write(rel, []byte(b.String()))
}

// seal writes manifest.json with the files written so far and signs it.
func (w *pkgWriter) seal(m *Manifest, key ed25519.PrivateKey) error {
	sort.Slice(w.files, func(i, j int) bool { return w.files[i].Path < w.files[j].Path })
	m.Files = w.files
	pub := publicOf(key)
	m.Agent = Signer{KeyID: KeyID(pub), PublicKey: base64.StdEncoding.EncodeToString(pub)}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	data = append(data, '\n')
	if err := os.WriteFile(filepath.Join(w.dir, ManifestFile), data, 0o600); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	sig := ed25519.Sign(key, data)
	if err := os.WriteFile(filepath.Join(w.dir, SignatureFile), sig, 0o600); err != nil {
		return fmt.Errorf("write manifest signature: %w", err)
	}
	return nil
}

// writeFrames writes the frames and frames.json with its hash chain and
// fills in the manifest's frame summary.
func (w *pkgWriter) writeFrames(m *Manifest, frames []Frame) error {
	if len(frames) == 0 {
		return nil
	}
	prev := ChainGenesis(m.AlertID)
	m.Frames.Genesis = prev
	entries := make([]FrameEntry, 0, len(frames))
	for i, f := range frames {
		name := fmt.Sprintf("frames/%06d.jpg", i+1)
		// The frame's hash is its file's, taken as it is written.
		sum, err := w.writeSum(name, f.JPEG())
		if err != nil {
			return err
		}
		e := FrameEntry{T: f.Time.UTC(), Until: f.Until.UTC(), File: name, SHA256: hex.EncodeToString(sum[:]),
			Width: f.Width, Height: f.Height, Blanked: f.Blanked, Prev: prev}
		e.Hash = ChainHash(prev, e)
		prev = e.Hash
		entries = append(entries, e)
		if f.Blanked {
			m.Frames.Blanked++
		}
	}
	data, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return fmt.Errorf("encode frames index: %w", err)
	}
	if err := w.write(FramesIndexFile, append(data, '\n')); err != nil {
		return err
	}
	m.Frames.Count = len(entries)
	m.Frames.ChainHead = prev
	return nil
}

// writeCasts writes one asciicast v2 file per terminal session: the most
// recently active one as session.cast, the others as session-2.cast and on.
func (w *pkgWriter) writeCasts(m *Manifest, recs []TerminalRecord, sessions map[string]termState) error {
	bySession := map[string][]TerminalRecord{}
	var order []string
	for _, r := range recs {
		if _, ok := bySession[r.Session]; !ok {
			order = append(order, r.Session)
		}
		bySession[r.Session] = append(bySession[r.Session], r)
	}
	last := func(id string) time.Time { rs := bySession[id]; return rs[len(rs)-1].Time }
	sort.SliceStable(order, func(i, j int) bool { return last(order[i]).After(last(order[j])) })
	for n, id := range order {
		rs := bySession[id]
		st := sessions[id]
		width, height := st.width, st.height
		start := st.start
		for _, r := range rs {
			if r.Kind == TerminalStart {
				start = r
			}
			if (r.Kind == TerminalStart || r.Kind == TerminalResize) && r.Width > 0 && r.Height > 0 {
				width, height = r.Width, r.Height
				break
			}
			if r.Kind == TerminalOutput || r.Kind == TerminalInput {
				break
			}
		}
		if width <= 0 || height <= 0 {
			width, height = 80, 24
		}
		base := rs[0].Time
		header := map[string]any{"version": 2, "width": width, "height": height, "timestamp": base.Unix(),
			"title": strings.TrimSpace(start.User + " " + start.TTY)}
		if start.Shell != "" {
			header["env"] = map[string]string{"SHELL": start.Shell}
		}
		hb, err := json.Marshal(header)
		if err != nil {
			return fmt.Errorf("encode cast header: %w", err)
		}
		var b strings.Builder
		b.Write(hb)
		b.WriteByte('\n')
		for _, r := range rs {
			var ev []any
			t := r.Time.Sub(base).Seconds()
			switch r.Kind {
			case TerminalOutput, TerminalInput:
				ev = []any{t, r.Kind, r.Data}
			case TerminalResize:
				ev = []any{t, "r", fmt.Sprintf("%dx%d", r.Width, r.Height)}
			default:
				continue
			}
			line, err := json.Marshal(ev)
			if err != nil {
				return fmt.Errorf("encode cast event: %w", err)
			}
			b.Write(line)
			b.WriteByte('\n')
		}
		name := SessionCastFile
		if n > 0 {
			name = fmt.Sprintf("session-%d.cast", n+1)
		}
		if err := w.write(name, []byte(b.String())); err != nil {
			return err
		}
		m.Terminals = append(m.Terminals, TerminalInfo{File: name, Session: id, TTY: start.TTY, User: start.User, Shell: start.Shell})
	}
	return nil
}
