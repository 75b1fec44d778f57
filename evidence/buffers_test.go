package evidence

import (
	"image"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/policies"
)

func TestMask(t *testing.T) {
	m, err := NewMasker(MaskingConfig{Builtin: true, PromptPattern: DefaultPromptPattern, TitlePattern: DefaultTitlePattern,
		Patterns: []MaskPattern{{Name: "employee-id", Regex: `\bEMP-\d{6}\b`}}, Apps: []string{"KeePassXC"}})
	require.NoError(t, err)
	tests := []struct {
		in, want string
	}{
		{"password: hunter2 please", "password: [MASKED] please"},
		{"PASSWD=s3cr3t", "PASSWD=[MASKED]"},
		{"key AKIAIOSFODNN7EXAMPLE here", "key [MASKED] here"},
		{"ghp_" + strings.Repeat("a", 36), "[MASKED]"},
		{"card 4111 1111 1111 1111 exp", "card [MASKED] exp"},
		{"order 4111 1111 1111 1112", "order 4111 1111 1111 1112"}, // fails Luhn: kept
		{"Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345", "Authorization: Bearer [MASKED]"},
		{"https://bob:pa55w0rd@example.com/x", "https://bob:[MASKED]@example.com/x"},
		{"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1r\n-----END OPENSSH PRIVATE KEY-----", "[MASKED]"},
		{"badge EMP-123456", "badge [MASKED]"},
		{"nothing secret here", "nothing secret here"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, masked := m.Mask(tc.in)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.in != tc.want, masked)
		})
	}
	require.True(t, m.MaskedApp("keepassxc"))
	require.True(t, m.IsPrompt("[sudo] password for jdoe: "))
	require.True(t, m.IsPrompt("Enter passphrase for key '/home/j/.ssh/id_ed25519': "))
	require.False(t, m.IsPrompt("jdoe@ws:~$ "))
	require.True(t, m.IsSecretWindow("Sign in - Google Accounts"))
	require.False(t, m.IsSecretWindow("Quarterly report.xlsx"))
}

func TestBuffersMaskAndBlock(t *testing.T) {
	cfg := testConfig()
	cfg.Masking.Apps = []string{"keepassxc"}
	cfg.Privacy.BlockedApps = []string{"Signal"}
	cfg.Privacy.BlockedTitles = []string{`(?i)online banking`}
	cfg.Masking.ClipboardMaxText = 8
	b, err := NewBuffers(cfg, nil)
	require.NoError(t, err)
	now := time.Now()
	b.RecordKeystroke(Keystroke{Time: now, App: "xterm", Text: "export TOKEN=abc123"})
	b.RecordKeystroke(Keystroke{Time: now, App: "keepassxc", Text: "masterpw"})
	b.RecordKeystroke(Keystroke{Time: now, App: "signal", Text: "private chat"})
	b.RecordKeystroke(Keystroke{Time: now, Window: "Authentication required — password", Text: "pw"})
	b.RecordClipboard(ClipboardEntry{Time: now, Operation: "copy", Text: "a long clipboard text", Length: 21})
	b.RecordClipboard(ClipboardEntry{Time: now, Operation: "copy", Window: "My Online Banking", Text: "IBAN", Length: 4})
	b.RecordTerminal(TerminalRecord{Session: "t", Time: now, Kind: TerminalStart, Width: 80, Height: 24})
	b.RecordTerminal(TerminalRecord{Session: "t", Time: now, Kind: TerminalOutput, Data: "\x1b[1m[sudo] password for jdoe:\x1b[0m "})
	b.RecordTerminal(TerminalRecord{Session: "t", Time: now, Kind: TerminalInput, Data: "hun"})
	b.RecordTerminal(TerminalRecord{Session: "t", Time: now, Kind: TerminalInput, Data: "ter2\r"})
	b.RecordTerminal(TerminalRecord{Session: "t", Time: now, Kind: TerminalInput, Data: "ls\r"})

	b.mu.Lock()
	defer b.mu.Unlock()
	keys := b.keys.items
	require.Equal(t, "export TOKEN=[MASKED]", keys[0].Text)
	require.True(t, keys[0].Masked)
	require.Equal(t, "********", keys[1].Text)
	require.Equal(t, "************", keys[2].Text)
	require.Equal(t, "**", keys[3].Text)
	require.Equal(t, "a long c", b.clips.items[0].Text)
	require.Empty(t, b.clips.items[1].Text)
	require.True(t, b.clips.items[1].Masked)
	terms := b.terms.items
	require.Equal(t, "***", terms[2].Data)
	require.Equal(t, "****\r", terms[3].Data)
	require.Equal(t, "ls\r", terms[4].Data, "input after Enter is no longer masked")
}

func TestBuffersDedupeAndBlankFrames(t *testing.T) {
	cfg := testConfig()
	cfg.Privacy.BlockedApps = []string{"signal"}
	b, err := NewBuffers(cfg, nil)
	require.NoError(t, err)
	t0 := time.Now()
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	f1, err := b.RecordFrame(at(0), testImage(64, 48, 1))
	require.NoError(t, err)
	f2, err := b.RecordFrame(at(1), testImage(64, 48, 1))
	require.NoError(t, err)
	require.Same(t, f1, f2, "an unchanged screen is not stored twice")
	require.Equal(t, at(1), f1.Until)
	f3, err := b.RecordFrame(at(2), testImage(64, 48, 2))
	require.NoError(t, err)
	require.NotSame(t, f1, f3)
	require.NotEqual(t, f1.SHA256(), f3.SHA256())

	b.SetFocus("Signal", "Chat with Bob")
	f4, err := b.RecordFrame(at(3), testImage(64, 48, 3))
	require.NoError(t, err)
	require.True(t, f4.Blanked)
	f5, err := b.RecordFrame(at(4), testImage(64, 48, 4))
	require.NoError(t, err)
	require.Same(t, f4, f5, "blank frames dedupe too")
	b.SetFocus("xterm", "bash")
	f6, err := b.RecordFrame(at(5), testImage(64, 48, 4))
	require.NoError(t, err)
	require.False(t, f6.Blanked)

	st := b.Stats()
	require.Equal(t, 4, st.Frames)
	require.Equal(t, uint64(6), st.FramesSeen)
	require.Equal(t, uint64(2), st.FramesDeduped)
}

func TestBuffersBounded(t *testing.T) {
	cfg := testConfig()
	cfg.Buffer.Duration = policies.Duration(time.Minute)
	cfg.Buffer.TextBytes = 64 << 10
	cfg.Buffer.ScreenBytes = 1 << 20
	cfg.Screen.Quality = 100
	b, err := NewBuffers(cfg, nil)
	require.NoError(t, err)
	now := time.Now()
	b.now = func() time.Time { return now }

	// In time: entries older than the buffer duration go.
	b.RecordKeystroke(Keystroke{Time: now.Add(-2 * time.Minute), Text: "old"})
	b.RecordKeystroke(Keystroke{Time: now, Text: "new"})
	require.Equal(t, 1, b.Stats().Keystrokes)

	// In bytes: the oldest entries go first.
	for i := range 2000 {
		b.RecordKeystroke(Keystroke{Time: now, Text: strings.Repeat("x", 100) + string(rune('a'+i%26))})
	}
	st := b.Stats()
	require.LessOrEqual(t, st.KeystrokeBytes, int64(64<<10))
	require.Less(t, st.Keystrokes, 2000)

	for i := range 12 {
		_, err := b.RecordFrame(now, noiseImage(256, 192, i))
		require.NoError(t, err)
	}
	st = b.Stats()
	require.LessOrEqual(t, st.ScreenBytes, int64(1<<20))
	require.Less(t, st.Frames, 12)
}

func TestWithheldKinds(t *testing.T) {
	cfg := testConfig()
	cfg.Privacy.DisabledKinds = map[string][]string{"contractors": {KindKeystrokes, KindScreenshot}}
	g := &seqGrabber{next: func(n int) *image.RGBA { return testImage(32, 24, n) }}
	f := newFixture(t, cfg, g)
	f.buf.RecordKeystroke(Keystroke{Text: "secret plans"})
	res, err := f.rec.Capture(t.Context(), Request{AlertID: "c-1", Groups: []string{"staff", "contractors"},
		Spec: policies.EvidenceSpec{Screenshot: true, Keystrokes: roll(time.Minute, 0), Clipboard: roll(time.Minute, 0)}})
	require.NoError(t, err)
	require.ElementsMatch(t, []Withheld{
		{Kind: KindKeystrokes, Reason: `disabled for members of group "contractors"`},
		{Kind: KindScreenshot, Reason: `disabled for members of group "contractors"`},
	}, res.Manifest.Withheld)
	for _, fe := range res.Manifest.Files {
		require.NotEqual(t, KeystrokesFile, fe.Path)
		require.NotEqual(t, ScreenshotFile, fe.Path)
	}
	require.Equal(t, 0, g.count(), "no screenshot was taken")
}
