package email

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/sensors"
	"github.com/vigil-itm/vigil/sensors/internal/sensorbench"
	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
)

// burstMails is how many messages the burst saves into a Sent folder.
const burstMails = 1000

// BenchmarkBurstSent saves 1,000 sent messages (each with a 20 KB
// attachment, one append or one Maildir delivery per message, as fast as
// a shell loop writes them) into a Thunderbird Sent mbox or an
// Evolution Sent Maildir in a temporary home, with the sensor's default
// timing, and counts the email-sent events by Message-ID: lost is how many
// messages were never reported, wrong_attachments how many came without
// their attachment. CPU and memory are the sensor's from the first write
// to the last event.
func BenchmarkBurstSent(b *testing.B) {
	pdf := []byte(strings.Repeat("%PDF-1.7 customer list\n", 870)) // 20 KB
	for _, format := range []string{"mbox", "maildir"} {
		b.Run(fmt.Sprintf("format=%s/mails=%d", format, burstMails), func(b *testing.B) {
			// The messages are written to a staging directory first and
			// saved into the Sent folder by a shell, so that neither
			// composing them nor writing them is charged to the sensor.
			staging := b.TempDir()
			for i := range burstMails {
				raw := composeMessage(b, map[string]string{
					"From": "Jane Doe <jdoe@acme.example>", "To": fmt.Sprintf("friend%d@gmail.com, boss@acme.example", i),
					"Subject": fmt.Sprintf("customers %d", i), "Message-ID": fmt.Sprintf("<burst-%d@acme.example>", i),
					"Date": "Sat, 28 Nov 2026 10:00:00 +0000",
				}, map[string][]byte{"customers.pdf": pdf})
				if format == "mbox" {
					raw = mboxEntry(raw)
				}
				name := fmt.Sprintf("1764324%04d.M%dP1.ws-042", i, i)
				require.NoError(b, os.WriteFile(filepath.Join(staging, name), raw, 0o600))
			}
			for b.Loop() {
				root := b.TempDir()
				home := filepath.Join(root, "home", "jdoe")
				sent := filepath.Join(home, ".thunderbird", "k2x8.default-release", "Mail", "Local Folders", "Sent")
				evo := filepath.Join(home, ".local", "share", "evolution", "mail", "local", ".Sent")
				for _, d := range []string{filepath.Dir(sent), filepath.Join(evo, "cur"), filepath.Join(evo, "new"), filepath.Join(evo, "tmp")} {
					require.NoError(b, os.MkdirAll(d, 0o700))
				}
				sensortest.AppendFile(b, sent, nil)
				cfg := DefaultConfig()
				cfg.Homes = []string{filepath.Join(root, "home", "*")}
				cfg.OrganisationDomains = []string{"acme.example"}
				cfg.PostfixLogs = nil
				noAttachment := 0
				c := &sensorbench.Counter{Key: func(e *event.Event) (string, bool) {
					if e.Event.Action != event.ActionEmailSent || e.Email == nil {
						return "", false
					}
					if len(e.Email.Attachments) != 1 || e.Email.Attachments[0].Size != int64(len(pdf)) {
						noAttachment++ // Emit is called from one goroutine
					}
					return e.Email.MessageID, true
				}}
				s := New(cfg, sensors.Env{DataDir: b.TempDir()})
				stop := sensortest.Run(b, s, c.Emit)
				sensortest.WaitState(b, s, sensors.StateOK, sensors.StateDegraded)
				lost := sensorbench.Measure(b, sensorbench.Burst{
					Want: burstMails,
					Got:  c.Distinct,
					Load: func() {
						// Thunderbird appends each message to the mbox;
						// Evolution writes it into tmp and renames it into new.
						script := `for f in "$1"/*; do cat "$f" >> "$2"; done`
						args := []string{"-c", script, "sh", staging, sent}
						if format == "maildir" {
							script = `for f in "$1"/*; do n=${f##*/}; cp "$f" "$2/tmp/$n" && mv "$2/tmp/$n" "$2/new/$n"; done`
							args = []string{"-c", script, "sh", staging, evo}
						}
						out, err := exec.Command("sh", args...).CombinedOutput()
						require.NoError(b, err, "save messages: %s", out)
					},
				})
				b.ReportMetric(float64(c.Duplicates()), "dup_events")
				b.ReportMetric(float64(noAttachment), "wrong_attachments")
				b.Logf("health after the burst: %+v", s.Health())
				if lost > 0 {
					b.Errorf("%d of %d messages were not reported", lost, burstMails)
				}
				stop()
			}
		})
	}
}
