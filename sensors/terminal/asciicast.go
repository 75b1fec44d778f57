package terminal

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/vigil-itm/vigil/evidence"
)

// asciicastHeader is the first line of an asciicast v2 file.
type asciicastHeader struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp,omitempty"`
	Title     string            `json:"title,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
}

// WriteAsciicast writes the records of one terminal session as an
// asciicast v2 stream: a header line from the TerminalStart record (80x24
// when there is none), then one [time, code, data] line per output, input
// and resize record, time in seconds since the start.
func WriteAsciicast(w io.Writer, recs []evidence.TerminalRecord) error {
	if len(recs) == 0 {
		return nil
	}
	h := asciicastHeader{Version: 2, Width: 80, Height: 24}
	start := recs[0].Time
	for _, r := range recs {
		if r.Kind == evidence.TerminalStart {
			start = r.Time
			if r.Width > 0 && r.Height > 0 {
				h.Width, h.Height = r.Width, r.Height
			}
			h.Env = map[string]string{}
			if r.Shell != "" {
				h.Env["SHELL"] = r.Shell
			}
			h.Title = r.User + "@" + r.TTY
			break
		}
	}
	if !start.IsZero() {
		h.Timestamp = start.Unix()
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(h); err != nil {
		return fmt.Errorf("write asciicast header: %w", err)
	}
	for _, r := range recs {
		var data string
		switch r.Kind {
		case evidence.TerminalOutput, evidence.TerminalInput:
			data = r.Data
		case evidence.TerminalResize:
			data = strconv.Itoa(r.Width) + "x" + strconv.Itoa(r.Height)
		default:
			continue
		}
		t := max(r.Time.Sub(start).Seconds(), 0)
		if err := enc.Encode([]any{roundMicro(t), r.Kind, data}); err != nil {
			return fmt.Errorf("write asciicast event: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write asciicast: %w", err)
	}
	return nil
}

func roundMicro(s float64) float64 {
	return float64(int64(s*1e6+0.5)) / 1e6
}
