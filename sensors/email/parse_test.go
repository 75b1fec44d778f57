package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
)

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// composeMessage builds a real multipart message the way mail clients do:
// a multipart/alternative body, then each attachment base64-encoded with
// lines of 76 characters (or quoted-printable for text).
func composeMessage(t testing.TB, hdr map[string]string, attachments map[string][]byte) []byte {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	alt := textproto.MIMEHeader{}
	var altBody bytes.Buffer
	aw := multipart.NewWriter(&altBody)
	alt.Set("Content-Type", "multipart/alternative; boundary="+aw.Boundary())
	pw, err := mw.CreatePart(alt)
	require.NoError(t, err)
	tp, _ := aw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=utf-8"}})
	_, _ = tp.Write([]byte("Please find the files attached.\r\n"))
	hp, _ := aw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/html; charset=utf-8"}})
	_, _ = hp.Write([]byte("<p>Please find the files attached.</p>\r\n"))
	require.NoError(t, aw.Close())
	_, _ = pw.Write(altBody.Bytes())
	names := make([]string, 0, len(attachments))
	for n := range attachments {
		names = append(names, n)
	}
	for _, name := range names {
		data := attachments[name]
		h := textproto.MIMEHeader{}
		if strings.HasSuffix(name, ".txt") {
			h.Set("Content-Type", "text/plain; charset=utf-8")
			h.Set("Content-Transfer-Encoding", "quoted-printable")
			h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
			w, err := mw.CreatePart(h)
			require.NoError(t, err)
			qw := quotedprintable.NewWriter(w)
			_, _ = qw.Write(data)
			require.NoError(t, qw.Close())
			continue
		}
		h.Set("Content-Type", fmt.Sprintf("application/octet-stream; name=%q", name))
		h.Set("Content-Transfer-Encoding", "base64")
		h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+strings.ReplaceAll(name, " ", "%20"))
		w, err := mw.CreatePart(h)
		require.NoError(t, err)
		enc := base64Lines(data)
		_, _ = w.Write([]byte(enc))
	}
	require.NoError(t, mw.Close())
	var msg bytes.Buffer
	for _, k := range []string{"From", "To", "Cc", "Bcc", "Subject", "Message-ID", "Date"} {
		if v, ok := hdr[k]; ok {
			fmt.Fprintf(&msg, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(&msg, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=%s\r\n\r\n", mw.Boundary())
	msg.Write(body.Bytes())
	return msg.Bytes()
}

func base64Lines(data []byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var b strings.Builder
	col := 0
	put := func(c byte) {
		b.WriteByte(c)
		col++
		if col == 76 {
			b.WriteString("\r\n")
			col = 0
		}
	}
	for i := 0; i < len(data); i += 3 {
		var n uint32
		k := min(3, len(data)-i)
		for j := 0; j < 3; j++ {
			n <<= 8
			if j < k {
				n |= uint32(data[i+j])
			}
		}
		for j := 0; j < 4; j++ {
			if j <= k {
				put(alphabet[(n>>(18-6*j))&63])
			} else {
				put('=')
			}
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

func TestParseMessage(t *testing.T) {
	pdf := bytes.Repeat([]byte("%PDF-1.7 quarterly numbers\n"), 500)
	notes := []byte("résumé notes = secrets\r\nline two\r\n")
	raw := composeMessage(t, map[string]string{
		"From":       `"Jane Doe" <JDoe@Acme.example>`,
		"To":         `friend@gmail.com, "Boss" <boss@acme.example>`,
		"Cc":         `team@sales.acme.example`,
		"Bcc":        `me@proton.me`,
		"Subject":    "=?UTF-8?Q?Q3_r=C3=A9sultats?=",
		"Message-ID": "<abc123@acme.example>",
		"Date":       "Sat, 28 Nov 2026 10:00:00 +0000",
	}, map[string][]byte{"Q3 numbers.pdf": pdf, "notes.txt": notes})
	m, err := ParseMessage(raw, 1<<20)
	require.NoError(t, err)
	require.Equal(t, "jdoe@acme.example", m.From)
	require.Equal(t, []string{"friend@gmail.com", "boss@acme.example"}, m.To)
	require.Equal(t, []string{"team@sales.acme.example"}, m.CC)
	require.Equal(t, []string{"me@proton.me"}, m.BCC)
	require.Equal(t, "Q3 résultats", m.Subject)
	require.Equal(t, "<abc123@acme.example>", m.MessageID)
	require.Equal(t, time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC), m.Date.UTC())
	require.Equal(t, int64(len(raw)), m.Size)
	byName := map[string]event.Attachment{}
	for _, a := range m.Attachments {
		byName[a.Name] = a
	}
	require.Len(t, byName, 2)
	require.Equal(t, event.Attachment{Name: "Q3 numbers.pdf", Size: int64(len(pdf)), SHA256: sum(pdf), MimeType: "application/octet-stream"}, byName["Q3 numbers.pdf"])
	require.Equal(t, event.Attachment{Name: "notes.txt", Size: int64(len(notes)), SHA256: sum(notes), MimeType: "text/plain"}, byName["notes.txt"])
	require.Equal(t, int64(2), externalRecipients([]string{"acme.example"}, m.To, m.CC, m.BCC))

	_, err = ParseMessage(raw, 100)
	require.ErrorIs(t, err, ErrTooLarge)
}

func TestParseMessageOddities(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		check   func(t *testing.T, m *Message)
		wantErr bool
	}{
		{
			name: "plain text, no attachments, lenient addresses",
			raw:  "From: jdoe@acme.example\nTo: a@x.example, broken <<b@y.example>\nSubject: hi\n\nbody\n",
			check: func(t *testing.T, m *Message) {
				require.Equal(t, []string{"a@x.example", "b@y.example"}, m.To)
				require.Empty(t, m.Attachments)
			},
		},
		{
			name: "forwarded message and inline image with a name",
			raw: "From: a@b.example\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\nhi\n" +
				"--XX\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\nFrom: x@y\n\nold\n" +
				"--XX\nContent-Type: image/png; name=\"=?UTF-8?B?w6kucG5n?=\"\nContent-Disposition: inline\nContent-Transfer-Encoding: base64\n\naGVs\nbG8=\n--XX--\n",
			check: func(t *testing.T, m *Message) {
				require.Len(t, m.Attachments, 2)
				require.Equal(t, "message.eml", m.Attachments[0].Name)
				require.Equal(t, "é.png", m.Attachments[1].Name)
				require.Equal(t, int64(5), m.Attachments[1].Size)
				require.Equal(t, sum([]byte("hello")), m.Attachments[1].SHA256)
			},
		},
		{
			name: "multipart without boundary",
			raw:  "From: a@b.example\nContent-Type: multipart/mixed\n\nx\n",
			check: func(t *testing.T, m *Message) {
				require.Empty(t, m.Attachments)
			},
		},
		{name: "no header", raw: "just text without header\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMessage([]byte(tt.raw), 1<<20)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			tt.check(t, m)
		})
	}
}

func TestSplitMbox(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"empty", "", nil},
		{"one", "From - Sat Nov 28 10:00:00 2026\nSubject: a\n\nbody\n", []string{"Subject: a\n\nbody\n"}},
		{
			"two with quoted From in body",
			"From - x\nSubject: a\n\nhello\n>From here\nFrom there\n\nFrom - y\nSubject: b\n\nb\n",
			[]string{"Subject: a\n\nhello\nFrom here\nFrom there\n\n", "Subject: b\n\nb\n"},
		},
		{"crlf", "From - x\r\nSubject: a\r\n\r\nFrom - y\r\nSubject: b\r\n", []string{"Subject: a\r\n\r\n", "Subject: b\r\n"}},
		{"no From line", "Subject: a\n\nb\n", []string{"Subject: a\n\nb\n"}},
		{"From line only", "From - x", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, m := range SplitMbox([]byte(tt.data)) {
				got = append(got, string(m))
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParsePostfixLog(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	data, err := os.ReadFile("testdata/maillog")
	require.NoError(t, err)
	for _, localOnly := range []bool{true, false} {
		j := newPostfixJoiner(localOnly)
		var got []*postfixMessage
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			p, err := ParsePostfixLine(line, now)
			if err != nil {
				require.ErrorIs(t, err, ErrNotPostfix)
				continue
			}
			if m := j.add(p); m != nil {
				got = append(got, m)
			}
		}
		require.Empty(t, j.pending)
		for _, m := range got {
			m.first = m.first.UTC()
		}
		first := &postfixMessage{first: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC), from: "jdoe@acme.example", uid: "1000",
			messageID: "<20261128100000.4B7D3C2A1F@ws-042.acme.example>", size: 48213, local: true,
			sent: []string{"friend@gmail.com", "boss@acme.example"}}
		last := &postfixMessage{first: time.Date(2026, 11, 28, 10, 3, 0, 123456000, time.UTC), from: "jdoe@acme.example",
			messageID: "<local-submit@acme.example>", size: 2048, local: true, sent: []string{"someone@proton.me"}}
		if localOnly {
			require.Equal(t, []*postfixMessage{first, last}, got)
		} else {
			require.Len(t, got, 3)
			require.Equal(t, []string{"jdoe@ws-042.acme.example"}, got[1].sent)
			require.True(t, got[1].relayed)
		}
	}
}

func TestParsePostfixLine(t *testing.T) {
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	p, err := ParsePostfixLine("Dec 31 23:59:59 h postfix/qmgr[1]: ABCDE1: removed", now)
	require.NoError(t, err)
	require.Equal(t, 2025, p.Time.Year(), "a December line read in January is from last year")
	require.True(t, p.Removed)
	for _, bad := range []string{"", "Nov 28 10:00:00 h sshd[1]: ABCDE1: x=y", "Nov 28 10:00:00 h postfix/smtp[1]: warning: x=y",
		"Nov 28 10:00:00 h postfix/smtp[1]: AB: to=<x>", "garbage", "2026-13-45T99:00:00Z h postfix/smtp[1]: ABCDE1: to=<x>"} {
		_, err := ParsePostfixLine(bad, now)
		require.ErrorIs(t, err, ErrNotPostfix, bad)
	}
}

func TestConfig(t *testing.T) {
	c := DefaultConfig()
	require.NoError(t, c.Validate())
	tests := []struct{ name, yaml, wantErr string }{
		{"unknown key", "org_domains: [a]", "field org_domains not found"},
		{"bad domain", "organisation_domains: ['a b']", "organisation_domains[0]"},
		{"folder without path", "sent_folders: [{format: mbox}]", "sent_folders[0].path"},
		{"bad format", "sent_folders: [{path: /x, format: pst}]", "sent_folders[0].format"},
		{"poll", "poll_interval: 1ms", "poll_interval"},
		{"rescan", "rescan: 10ms", "rescan"},
		{"max", "max_message_bytes: 10", "max_message_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig(sensortest.YAML(t, tt.yaml))
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
	c, err := ParseConfig(sensortest.YAML(t, "organisation_domains: [Acme.Example.]"))
	require.NoError(t, err)
	require.Equal(t, []string{"acme.example"}, c.OrganisationDomains)
}

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte("From: a@b.example\nTo: c@d.example\nSubject: x\n\nbody\n"))
	f.Add(composeMessage(f, map[string]string{"From": "a@b.example", "To": "c@d.example"}, map[string][]byte{"a.bin": []byte("abc"), "n.txt": []byte("x=y")}))
	f.Add([]byte("From: a@b.example\nContent-Type: multipart/mixed; boundary=X\n\n--X\nContent-Type: multipart/mixed; boundary=X\n\n--X--\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := ParseMessage(raw, 1<<20)
		if err != nil {
			return
		}
		for _, a := range m.Attachments {
			if a.Size < 0 || len(a.SHA256) != 64 {
				t.Fatalf("bad attachment %+v", a)
			}
		}
	})
}

// splitMboxWhole is the whole-buffer splitter the streaming ScanMbox
// replaced, kept as the reference the fuzz test holds it to.
func splitMboxWhole(data []byte) [][]byte {
	var out [][]byte
	add := func(m []byte) {
		if bytes.HasPrefix(m, []byte("From ")) {
			nl := bytes.IndexByte(m, '\n')
			if nl < 0 {
				return
			}
			m = m[nl+1:]
		}
		if len(bytes.TrimSpace(m)) > 0 {
			out = append(out, unquoteFrom(m))
		}
	}
	start := 0
	for i := 0; i < len(data); {
		j := bytes.Index(data[i:], []byte("\nFrom "))
		if j < 0 {
			break
		}
		j += i
		if j >= 1 && data[j-1] == '\n' || j >= 2 && data[j-1] == '\r' && data[j-2] == '\n' {
			add(data[start : j+1])
			start = j + 1
		}
		i = j + 1
	}
	add(data[start:])
	return out
}

func TestScanMboxLimitAndLongLines(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // lines longer than the read buffer
	data := "From - a\nSubject: big\n\n" + long + "\n\nFrom " + long + "\nSubject: b\n\nsmall\n"
	type msg struct {
		text string
		size int64
	}
	var got []msg
	require.NoError(t, ScanMbox(strings.NewReader(data), 1000, func(m []byte, size int64) {
		got = append(got, msg{string(m), size})
	}))
	require.Len(t, got, 2)
	first := "Subject: big\n\n" + long + "\n\n"
	require.Equal(t, int64(len(first)), got[0].size)
	require.Equal(t, first[:1001], got[0].text, "cut to limit+1 bytes")
	require.Equal(t, msg{"Subject: b\n\nsmall\n", 18}, got[1], "a From_ line longer than the buffer is dropped whole")
	require.Equal(t, splitMboxWhole([]byte(data)), SplitMbox([]byte(data)))
}

func FuzzSplitMbox(f *testing.F) {
	f.Add([]byte("From - x\nSubject: a\n\nhello\n>From here\n\nFrom - y\nSubject: b\n\nb\n"))
	f.Add([]byte("From "))
	f.Add([]byte("\nFrom x\n\r\nFrom y\r\nb"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got := SplitMbox(data)
		want := splitMboxWhole(data)
		if len(got) != len(want) {
			t.Fatalf("%d messages, the whole-buffer split gives %d", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("message %d: %q, the whole-buffer split gives %q", i, got[i], want[i])
			}
		}
		// With a limit, messages over it come cut to limit+1 bytes.
		const limit = 16
		n := 0
		_ = ScanMbox(bytes.NewReader(data), limit, func(m []byte, size int64) {
			if size > limit && len(m) > limit+1 || size <= limit && !bytes.Equal(m, want[n]) {
				t.Fatalf("message %d of %d bytes passed as %q", n, size, m)
			}
			n++
		})
		if n != len(want) {
			t.Fatalf("%d messages with a limit, %d without", n, len(want))
		}
	})
}

func FuzzParsePostfixLine(f *testing.F) {
	data, err := os.ReadFile("testdata/maillog")
	require.NoError(f, err)
	for _, line := range strings.Split(string(data), "\n") {
		f.Add(line)
	}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, line string) {
		j := newPostfixJoiner(false)
		p, err := ParsePostfixLine(line, now)
		if err != nil {
			return
		}
		if !isQueueID(p.QueueID) {
			t.Fatalf("bad queue id %q", p.QueueID)
		}
		j.add(p)
	})
}

func BenchmarkParseMessage(b *testing.B) {
	raw := composeMessage(b, map[string]string{"From": "a@b.example", "To": "c@d.example", "Subject": "x"},
		map[string][]byte{"a.pdf": bytes.Repeat([]byte("x"), 256<<10)})
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := ParseMessage(raw, 1<<30); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePostfixLine(b *testing.B) {
	line := "Nov 28 10:00:01 ws-042 postfix/smtp[1203]: 4B7D3C2A1F: to=<friend@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1.2, delays=0.1/0.01/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 OK)"
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePostfixLine(line, now); err != nil {
			b.Fatal(err)
		}
	}
}
