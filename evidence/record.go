// Package evidence owns endpoint evidence: the in-memory ring buffers (screen
// frames, keystrokes, clipboard, terminal sessions), capture when a decision
// asks for it, the signed evidence package (DESIGN §6), its verification and
// its export. It must not import the engine, the store, the API or sensors.
package evidence

import "time"

// Keystroke is text typed into one window, in order. Text is already masked
// where masking applies (password prompts, configured applications).
type Keystroke struct {
	// Time is when the first key of Text was pressed.
	Time time.Time `json:"t"`
	// Window is the title of the window that had focus.
	Window string `json:"window,omitempty"`
	// App is the application (WM_CLASS or executable name) that had focus.
	App string `json:"app,omitempty"`
	// Text is what was typed; special keys appear as <Enter>, <BackSpace>...
	Text string `json:"text"`
	// Masked is true when Text was replaced because a secret was being typed.
	Masked bool `json:"masked,omitempty"`
}

// ClipboardEntry is one clipboard change or use.
type ClipboardEntry struct {
	Time time.Time `json:"t"`
	// Operation is "copy", "cut", "paste" or "selection" (PRIMARY changed).
	Operation string `json:"operation"`
	// Selection is the X selection ("CLIPBOARD", "PRIMARY") where it applies.
	Selection string `json:"selection,omitempty"`
	Window    string `json:"window,omitempty"`
	App       string `json:"app,omitempty"`
	// Format is "text", "files", "image" or the MIME type offered.
	Format string `json:"format,omitempty"`
	Length int64  `json:"length"`
	SHA256 string `json:"sha256,omitempty"`
	// Text is the content, truncated and masked, only where policy allows.
	Text string `json:"text,omitempty"`
	// Files lists the paths for a file copy.
	Files  []string `json:"files,omitempty"`
	Masked bool     `json:"masked,omitempty"`
}

// Terminal record kinds.
const (
	TerminalStart  = "start" // a session began: Width, Height, Shell, User, TTY set
	TerminalOutput = "o"     // Data was written to the terminal
	TerminalInput  = "i"     // Data was typed (masked where it applies)
	TerminalResize = "r"     // the window changed to Width x Height
	TerminalEnd    = "end"   // the session ended
)

// TerminalRecord is one piece of a recorded terminal session; the records of
// one Session, in order, make an asciicast v2 stream.
type TerminalRecord struct {
	// Session identifies the terminal session.
	Session string    `json:"session"`
	Time    time.Time `json:"t"`
	// Kind is one of the Terminal* constants.
	Kind   string `json:"kind"`
	Data   string `json:"data,omitempty"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
	Shell  string `json:"shell,omitempty"`
	User   string `json:"user,omitempty"`
	TTY    string `json:"tty,omitempty"`
}
