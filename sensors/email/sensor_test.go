package email

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/logtail"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
	"github.com/vigil-itm/vigil/sensors/internal/statefile"
)

// mboxEntry is a message as Thunderbird appends it to a Sent mbox.
func mboxEntry(raw []byte) []byte {
	return append(append([]byte("From - Sat Nov 28 10:00:00 2026\r\nX-Mozilla-Status: 0001\r\n"), raw...), "\r\n"...)
}

func me(t *testing.T) *event.User {
	t.Helper()
	u, err := user.LookupId(strconv.Itoa(os.Getuid()))
	require.NoError(t, err)
	return &event.User{ID: u.Uid, Name: u.Username}
}

func TestSentFoldersAndPostfixLog(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "home", "jdoe")
	profile := filepath.Join(home, ".thunderbird", "k2x8.default-release")
	localSent := filepath.Join(profile, "Mail", "Local Folders", "Sent")
	gmailSent := filepath.Join(profile, "ImapMail", "imap.gmail.com", "[Gmail].sbd", "Sent Mail")
	evo := filepath.Join(home, ".local", "share", "evolution", "mail", "local", ".Sent")
	for _, d := range []string{filepath.Dir(localSent), filepath.Dir(gmailSent), filepath.Join(evo, "cur"), filepath.Join(evo, "new"), filepath.Join(evo, "tmp")} {
		require.NoError(t, os.MkdirAll(d, 0o700))
	}
	old := composeMessage(t, map[string]string{"From": "jdoe@acme.example", "To": "x@gmail.com", "Message-ID": "<old@acme.example>"}, nil)
	sensortest.AppendFile(t, gmailSent, mboxEntry(old))
	sensortest.AppendFile(t, localSent, nil)
	mailLog := filepath.Join(root, "mail.log")
	sensortest.AppendFile(t, mailLog, []byte("Nov 28 09:00:00 ws-042 postfix/qmgr[1100]: 1111111111: removed\n"))

	cfg := DefaultConfig()
	cfg.Homes = []string{filepath.Join(root, "home", "*")}
	cfg.OrganisationDomains = []string{"acme.example"}
	cfg.PostfixLogs = []string{filepath.Join(root, "missing.log"), mailLog}
	cfg.PollInterval, cfg.Settle, cfg.Rescan = 10*time.Millisecond, 30*time.Millisecond, time.Second
	data := t.TempDir()
	s := New(cfg, sensors.Env{DataDir: data})
	col, stop := sensortest.Start(t, s)
	require.Eventually(t, func() bool {
		return strings.HasPrefix(s.Health().Message, "watching 3 sent folder(s); following "+mailLog)
	}, 10*time.Second, 5*time.Millisecond, "health: %+v", s.Health())

	// Thunderbird appends a sent message with attachments to its Sent mbox.
	pdf := []byte(strings.Repeat("%PDF-1.7 customer list\n", 300))
	raw := composeMessage(t, map[string]string{
		"From": `Jane Doe <jdoe@acme.example>`, "To": "friend@gmail.com, boss@acme.example", "Bcc": "me@proton.me",
		"Subject": "customers", "Message-ID": "<m1@acme.example>", "Date": "Sat, 28 Nov 2026 10:00:00 +0000",
	}, map[string][]byte{"customers.pdf": pdf})
	sensortest.AppendFile(t, localSent, mboxEntry(raw))
	require.Eventually(t, func() bool { return col.Len() == 1 }, 10*time.Second, 5*time.Millisecond)
	ev := col.All()[0]
	require.NoError(t, ev.Validate())
	require.Equal(t, event.ActionEmailSent, ev.Event.Action)
	require.Equal(t, me(t), ev.User)
	require.Equal(t, &event.Email{
		From: "jdoe@acme.example", To: []string{"friend@gmail.com", "boss@acme.example"}, BCC: []string{"me@proton.me"},
		Subject: "customers", MessageID: "<m1@acme.example>", Size: int64(len(raw) + len("X-Mozilla-Status: 0001\r\n\r\n")), ExternalRecipients: 2,
		Attachments: []event.Attachment{{Name: "customers.pdf", Size: int64(len(pdf)), SHA256: sum(pdf), MimeType: "application/octet-stream"}},
		Client:      "thunderbird",
	}, ev.Email)
	require.Equal(t, time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC), ev.Timestamp)

	// Evolution delivers into its local Maildir: tmp, then rename into new.
	raw2 := composeMessage(t, map[string]string{"From": "jdoe@acme.example", "To": "colleague@sales.acme.example",
		"Message-ID": "<m2@acme.example>"}, map[string][]byte{"plan.txt": []byte("plan\r\n")})
	tmp := filepath.Join(evo, "tmp", "1764324000.M1P2.ws-042")
	require.NoError(t, os.WriteFile(tmp, raw2, 0o600))
	require.NoError(t, os.Rename(tmp, filepath.Join(evo, "new", "1764324000.M1P2.ws-042")))
	require.Eventually(t, func() bool { return col.Len() == 2 }, 10*time.Second, 5*time.Millisecond)
	ev = col.All()[1]
	require.Equal(t, "evolution", ev.Email.Client)
	require.Equal(t, int64(0), ev.Email.ExternalRecipients)
	require.Equal(t, "plan.txt", ev.Email.Attachments[0].Name)
	// The client marks it read: new → cur with flags. Not a new message.
	require.NoError(t, os.Rename(filepath.Join(evo, "new", "1764324000.M1P2.ws-042"), filepath.Join(evo, "cur", "1764324000.M1P2.ws-042:2,S")))

	// postfix delivers two locally submitted messages and relays one.
	lines, err := os.ReadFile("testdata/maillog")
	require.NoError(t, err)
	sensortest.AppendFile(t, mailLog, lines)
	require.Eventually(t, func() bool { return col.Len() == 4 }, 10*time.Second, 5*time.Millisecond)
	evs := col.All()
	require.Equal(t, "postfix", evs[2].Email.Client)
	require.Equal(t, []string{"friend@gmail.com", "boss@acme.example"}, evs[2].Email.To)
	require.Equal(t, int64(1), evs[2].Email.ExternalRecipients)
	require.Equal(t, int64(48213), evs[2].Email.Size)
	require.Equal(t, "1000", evs[2].User.ID)
	require.Equal(t, "<local-submit@acme.example>", evs[3].Email.MessageID)
	for _, e := range evs {
		require.NoError(t, e.Validate())
	}

	// A profile created while the sensor runs is found by the rescan.
	newSent := filepath.Join(home, ".thunderbird", "new.profile", "Mail", "Local Folders", "Sent")
	require.NoError(t, os.MkdirAll(filepath.Dir(newSent), 0o700))
	sensortest.AppendFile(t, newSent, nil)
	require.Eventually(t, func() bool {
		return strings.HasPrefix(s.Health().Message, "watching 4 sent folder(s)")
	}, 10*time.Second, 5*time.Millisecond)
	sensortest.AppendFile(t, newSent, mboxEntry(composeMessage(t, map[string]string{"From": "jdoe@acme.example", "To": "a@b.example",
		"Message-ID": "<m5@acme.example>"}, nil)))
	require.Eventually(t, func() bool { return col.Len() == 5 }, 10*time.Second, 5*time.Millisecond)
	stop()
	require.Len(t, col.All(), 5)
	require.Equal(t, uint64(5), s.Health().Events)

	// Sent while the agent is down: reported once after the restart, and
	// nothing already reported comes back.
	sensortest.AppendFile(t, localSent, mboxEntry(composeMessage(t, map[string]string{"From": "jdoe@acme.example", "To": "a@b.example",
		"Message-ID": "<m6@acme.example>"}, nil)))
	s2 := New(cfg, sensors.Env{DataDir: data})
	col2, stop2 := sensortest.Start(t, s2)
	require.Eventually(t, func() bool { return col2.Len() == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, "<m6@acme.example>", col2.All()[0].Email.MessageID)
	// One more event proves the sensor is past the restart point.
	sensortest.AppendFile(t, localSent, mboxEntry(composeMessage(t, map[string]string{"From": "jdoe@acme.example", "To": "a@b.example",
		"Message-ID": "<m7@acme.example>"}, nil)))
	require.Eventually(t, func() bool { return col2.Len() == 2 }, 10*time.Second, 5*time.Millisecond)
	stop2()
	require.Equal(t, "<m7@acme.example>", col2.All()[1].Email.MessageID)
}

func TestCompactionIsNotNewMail(t *testing.T) {
	dir := t.TempDir()
	sent := filepath.Join(dir, "Sent")
	for i := range 3 {
		sensortest.AppendFile(t, sent, mboxEntry(composeMessage(t, map[string]string{"From": "a@b.example", "To": "c@d.example",
			"Message-ID": fmt.Sprintf("<c%d@b.example>", i)}, nil)))
	}
	cfg := DefaultConfig()
	cfg.DiscoverClients, cfg.PostfixLogs = false, nil
	cfg.SentFolders = []Folder{{Path: sent, Client: "thunderbird"}}
	cfg.PollInterval, cfg.Settle = 10*time.Millisecond, 20*time.Millisecond
	data := t.TempDir()
	s := New(cfg, sensors.Env{DataDir: data})
	col, stop := sensortest.Start(t, s)
	require.Eventually(t, func() bool { return strings.HasPrefix(s.Health().Message, "watching 1 ") }, 10*time.Second, 5*time.Millisecond)
	// Compaction: the client writes a smaller copy and renames it over.
	keep := mboxEntry(composeMessage(t, map[string]string{"From": "a@b.example", "To": "c@d.example", "Message-ID": "<c2@b.example>"}, nil))
	require.NoError(t, os.WriteFile(sent+".tmp", keep, 0o600))
	require.NoError(t, os.Rename(sent+".tmp", sent))
	fi, err := os.Stat(sent)
	require.NoError(t, err)
	// The saved state shows when the sensor has taken in the new file.
	require.Eventually(t, func() bool {
		st := statefile.Load[savedState](statefile.Path(data, Name))
		return st != nil && st.Mbox[sent] == mboxMark{FileID: logtail.FileID(fi), Offset: fi.Size()}
	}, 10*time.Second, 5*time.Millisecond)
	sensortest.AppendFile(t, sent, mboxEntry(composeMessage(t, map[string]string{"From": "a@b.example", "To": "x@y.example", "Message-ID": "<c9@b.example>"}, nil)))
	require.Eventually(t, func() bool { return col.Len() >= 1 }, 10*time.Second, 5*time.Millisecond)
	stop()
	evs := col.All()
	require.Len(t, evs, 1)
	require.Equal(t, "<c9@b.example>", evs[0].Email.MessageID)
}
