package e2e_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/alerts"
	"github.com/vigil-itm/vigil/alerts/alertstest"
	"github.com/vigil-itm/vigil/store"
)

const (
	e2eVersion = "9.9.9-e2e"
	scimToken  = "e2e-scim-token-0123456789abcdefghijklmnop"
	// The rule the event breaks, as the built-in library defines it.
	ruleID      = "usb-sensitive-file"
	ruleTitle   = "Sensitive file copied to removable media"
	ruleVersion = 2
	ruleTags    = "exfiltration,removable,attack.T1052.001"
	eventID     = "01JDE2E0000000000000000001"
)

// webhookKey signs webhook requests; the configuration carries it as
// "whsec_" + base64, the Standard Webhooks form.
var webhookKey = []byte("e2e webhook signing key, 32 byte")

// payrollCopy is an event from an agent: jdoe copies a payroll export
// from the HR share to a USB stick, which breaks usb-sensitive-file.
func payrollCopy(at time.Time) string {
	return fmt.Sprintf(`{
  "@timestamp": %q,
  "event": {"id": %q, "kind": "event", "category": ["file"], "type": ["creation"],
            "action": "file-copied-to-removable", "module": "removable", "outcome": "success"},
  "host": {"id": "h-042", "name": "ws-042", "ip": ["10.20.30.42"], "os": {"family": "linux", "name": "Debian", "version": "12"}},
  "user": {"id": "1000", "name": "jdoe"},
  "process": {"pid": 4242, "name": "cp", "executable": "/usr/bin/cp"},
  "file": {"path": "/media/jdoe/KINGSTON/2026-10.xlsx", "name": "2026-10.xlsx", "extension": "xlsx",
           "source_path": "/srv/hr/payroll/2026-10.xlsx", "size": 48213,
           "hash": {"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}},
  "volume": {"removable": true, "bus_type": "usb", "mount_point": "/media/jdoe/KINGSTON", "vendor_name": "Kingston",
             "product_name": "DataTraveler", "serial_number": "E0D55EA573DCF450", "file_system_type": "vfat"}
}`, at.UTC().Format(time.RFC3339Nano), eventID)
}

// TestAlertReachesEverySink is the SIEM delivery walk-through: an identity
// provider provisions a user over SCIM, an agent posts an event that
// breaks a library rule, and the alert the server raises arrives, byte
// for byte, as CEF over syslog/TLS and LEEF over syslog/TCP at a real
// rsyslogd, as a signed JSON webhook, and as an OCSF Detection Finding in
// a file, carrying the user context the directory added.
func TestAlertReachesEverySink(t *testing.T) {
	rs := alertstest.StartRsyslog(t)
	var hk hook
	receiver := httptest.NewServer(&hk)
	t.Cleanup(receiver.Close)
	ocsfFile := filepath.Join(t.TempDir(), "findings.jsonl")

	sinks := fmt.Sprintf(`hostname: vigil-e2e
drain_timeout: 2s
outputs:
  - name: arcsight
    type: syslog
    format: cef
    queue: {initial_backoff: 10ms, max_backoff: 200ms}
    syslog:
      network: tls
      address: %[1]s
      facility: local4
      tls: {ca_file: %[2]s, server_name: localhost}
  - name: qradar
    type: syslog
    format: leef
    leef_delimiter: "^"
    queue: {initial_backoff: 10ms, max_backoff: 200ms}
    syslog: {network: tcp, framing: octet-counting, address: %[3]s, facility: local4}
  - name: soar
    type: webhook
    format: json
    queue: {initial_backoff: 10ms, max_backoff: 200ms}
    webhook:
      url: %[4]s/hooks/vigil
      secret: whsec_%[5]s
      headers: {X-Tenant: e2e}
  - name: lake
    type: file
    format: ocsf
    file: {path: %[6]s}
`, rs.TLSAddr, rs.Certs.CAFile, rs.TCPAddr, receiver.URL, base64.StdEncoding.EncodeToString(webhookKey), ocsfFile)
	s := startServer(t, fmt.Sprintf("scim: {token: %q}\n", scimToken), sinks, e2eVersion)

	// The identity provider provisions jdoe and her group.
	status, body := s.do(http.MethodPost, "/scim/v2/Users", "Bearer "+scimToken, `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "userName": "jdoe@corp.example", "externalId": "00u1e2e", "displayName": "Jane Doe",
  "name": {"givenName": "Jane", "familyName": "Doe"}, "title": "Payroll Accountant", "active": true,
  "emails": [{"value": "jdoe@corp.example", "type": "work", "primary": true}],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Finance", "employeeNumber": "1001"}
}`)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	var user struct{ ID string }
	require.NoError(t, json.Unmarshal(body, &user))
	status, body = s.do(http.MethodPost, "/scim/v2/Groups", "Bearer "+scimToken, fmt.Sprintf(
		`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Finance Team", "members": [{"value": %q}]}`, user.ID))
	require.Equal(t, http.StatusCreated, status, "%s", body)

	// The agent sends the event; the server raises one alert.
	// A Tuesday afternoon: within working hours, so only usb-sensitive-file fires.
	at := time.Date(2026, 11, 24, 14, 0, 0, 123_000_000, time.UTC)
	sentAfter := time.Now().Unix()
	var ingest struct{ Stored, Decisions, Alerts int }
	s.api(store.RoleAgent, http.MethodPost, "/api/v1/events", `{"seq": 1, "events": [`+payrollCopy(at)+`]}`, http.StatusOK, &ingest)
	require.Equal(t, 1, ingest.Stored)
	require.Equal(t, 1, ingest.Alerts)

	var list struct{ Alerts []store.Alert }
	s.api(store.RoleAdmin, http.MethodGet, "/api/v1/alerts?rule="+ruleID, "", http.StatusOK, &list)
	require.Len(t, list.Alerts, 1)
	a := list.Alerts[0]
	require.Equal(t, []string{ruleID}, a.RuleIDs)
	require.Equal(t, "jdoe", a.User)
	require.Equal(t, "ws-042", a.Host)
	require.Equal(t, "high", a.Severity)
	require.Equal(t, eventID, a.EventID)
	require.Equal(t, store.StatusOpen, a.Status)
	require.NotEmpty(t, a.BundleName)
	require.NotEmpty(t, a.BundleRevision)
	rec, err := s.db.Decisions().Get(t.Context(), a.DecisionID)
	require.NoError(t, err)
	var decision struct{ Reasons []string }
	require.NoError(t, json.Unmarshal(rec.Decision, &decision))
	require.NotEmpty(t, decision.Reasons)
	reasons := strings.Join(decision.Reasons, "; ")
	risk := strconv.FormatFloat(a.RiskScore, 'f', -1, 64)
	bundle := a.BundleName + "@" + a.BundleRevision
	// The alert as the dispatcher was handed it, for the byte checks.
	want, err := alerts.FromStore(a, rec)
	require.NoError(t, err)

	readOCSF := func() []byte {
		b, err := os.ReadFile(ocsfFile)
		if os.IsNotExist(err) {
			return nil
		}
		require.NoError(t, err)
		return b
	}
	require.Eventually(t, func() bool {
		return len(rs.Messages(t, "CEF")) == 1 && len(rs.Messages(t, "LEEF")) == 1 &&
			len(hk.requests()) == 1 && strings.Count(string(readOCSF()), "\n") == 1
	}, 30*time.Second, 20*time.Millisecond, "every sink delivers the alert")

	render := func(f alerts.Format) string {
		r, err := alerts.NewRenderer(f, alerts.RenderOptions{Version: e2eVersion})
		require.NoError(t, err)
		b, err := r.Append(nil, want)
		require.NoError(t, err)
		return string(b)
	}
	// Syslog: local4 (20) × 8 + err (3), the syslog severity of "high".
	envelope := func(m alertstest.Message, input, msgID string) {
		t.Helper()
		require.Equal(t, input, m.Input)
		require.Equal(t, "163", m.Priority)
		require.Equal(t, "vigil-e2e", m.Hostname)
		require.Equal(t, "vigil", m.AppName)
		require.Equal(t, strconv.Itoa(os.Getpid()), m.ProcID)
		require.Equal(t, msgID, m.MsgID)
		require.Equal(t, "-", m.StructuredData)
	}

	t.Run("CEF over syslog/TLS", func(t *testing.T) {
		m := rs.Messages(t, "CEF")[0]
		envelope(m, "tls", "CEF")
		require.Equal(t, render(alerts.FormatCEF), m.Msg)
		cef, err := alertstest.ParseCEF(m.Msg)
		require.NoError(t, err)
		cef.Keys = nil
		require.Equal(t, alertstest.CEF{
			Version: "0", DeviceVendor: "Vigil", DeviceProduct: "Vigil", DeviceVersion: e2eVersion,
			SignatureID: ruleID, Name: ruleTitle, Severity: "8",
			Extension: map[string]string{
				"rt":         strconv.FormatInt(at.UnixMilli(), 10),
				"externalId": a.ID,
				"act":        "file-copied-to-removable",
				"suser":      "jdoe",
				"shost":      "ws-042",
				"src":        "10.20.30.42",
				"msg":        reasons,
				"fname":      "2026-10.xlsx",
				"filePath":   "/media/jdoe/KINGSTON/2026-10.xlsx",
				"fsize":      "48213",
				"sproc":      "cp",
				"cs1Label":   "decisionId", "cs1": a.DecisionID,
				"cs2Label": "bundle", "cs2": bundle,
				"cs3Label": "rules", "cs3": ruleID,
				"cs4Label": "tags", "cs4": ruleTags,
				"cs5Label": "eventId", "cs5": eventID,
				"cs6Label": "status", "cs6": "open",
				"cfp1Label": "riskScore", "cfp1": risk,
			},
		}, cef)
	})

	t.Run("LEEF over syslog/TCP", func(t *testing.T) {
		m := rs.Messages(t, "LEEF")[0]
		envelope(m, "tcp", "LEEF")
		require.Equal(t, render(alerts.FormatLEEF), m.Msg)
		leef, err := alertstest.ParseLEEF(m.Msg)
		require.NoError(t, err)
		leef.Keys = nil
		require.Equal(t, alertstest.LEEF{
			Version: "2.0", Vendor: "Vigil", Product: "Vigil", ProductVersion: e2eVersion, EventID: ruleID, Delimiter: '^',
			Attributes: map[string]string{
				"devTime":       "2026-11-24T14:00:00.123+0000",
				"devTimeFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSZ",
				"cat":           "file-copied-to-removable",
				"sev":           "8",
				"usrName":       "jdoe",
				"identHostName": "ws-042",
				"src":           "10.20.30.42",
				"policy":        bundle,
				"alertId":       a.ID,
				"decisionId":    a.DecisionID,
				"eventId":       eventID,
				"title":         ruleTitle,
				"ruleIds":       ruleID,
				"tags":          ruleTags,
				"riskScore":     risk,
				"status":        "open",
				"reason":        reasons,
				"fileName":      "2026-10.xlsx",
				"filePath":      "/media/jdoe/KINGSTON/2026-10.xlsx",
				"fileSize":      "48213",
				"process":       "cp",
			},
		}, leef)
	})

	t.Run("signed webhook", func(t *testing.T) {
		req := hk.requests()[0]
		require.Equal(t, http.MethodPost, req.method)
		require.Equal(t, "/hooks/vigil", req.path)
		require.Equal(t, "application/json", req.header.Get("Content-Type"))
		require.Equal(t, "e2e", req.header.Get("X-Tenant"))
		require.Equal(t, render(alerts.FormatJSON), string(req.body))

		id, ts := req.header.Get("webhook-id"), req.header.Get("webhook-timestamp")
		require.Equal(t, "msg_"+a.ID, id)
		sec, err := strconv.ParseInt(ts, 10, 64)
		require.NoError(t, err)
		require.GreaterOrEqual(t, sec, sentAfter, "signed after the event was sent")
		require.LessOrEqual(t, sec, time.Now().Unix())
		// Standard Webhooks: v1,<base64 HMAC-SHA256(key, id "." timestamp "." body)>,
		// space-separated when there are several.
		verify := func(body []byte) bool {
			mac := hmac.New(sha256.New, webhookKey)
			mac.Write([]byte(id + "." + ts + "."))
			mac.Write(body)
			expected := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
			for _, sig := range strings.Fields(req.header.Get("webhook-signature")) {
				if hmac.Equal([]byte(sig), []byte(expected)) {
					return true
				}
			}
			return false
		}
		require.True(t, verify(req.body), "signature %q", req.header.Get("webhook-signature"))
		tampered := []byte(strings.Replace(string(req.body), `"jdoe"`, `"mallory"`, 1))
		require.False(t, verify(tampered), "a changed body must not verify")

		requireJSONSubset(t, fmt.Sprintf(`{
  "id": %q, "decision_id": %q, "event_id": %q, "action": "file-copied-to-removable",
  "user": "jdoe", "host": "ws-042", "severity": "high", "risk_score": %s, "rule_ids": [%q],
  "bundle_name": %q, "bundle_revision": %q, "status": "open", "title": %q,
  "tags": ["exfiltration", "removable", "attack.T1052.001"],
  "findings": [{"rule": %q, "rule_version": %d, "title": %q, "severity": "high"}],
  "event": {
    "event": {"id": %q, "action": "file-copied-to-removable"},
    "user": {"name": "jdoe", "email": "jdoe@corp.example", "full_name": "Jane Doe", "department": "Finance",
             "title": "Payroll Accountant", "groups": ["Finance Team"]},
    "host": {"name": "ws-042"},
    "file": {"path": "/media/jdoe/KINGSTON/2026-10.xlsx", "source_path": "/srv/hr/payroll/2026-10.xlsx", "size": 48213},
    "volume": {"serial_number": "E0D55EA573DCF450"}
  }
}`, a.ID, a.DecisionID, eventID, risk, ruleID, a.BundleName, a.BundleRevision, ruleTitle, ruleID, ruleVersion, ruleTitle, eventID), req.body)
	})

	t.Run("OCSF Detection Finding in a file", func(t *testing.T) {
		data := readOCSF()
		require.Equal(t, render(alerts.FormatOCSF)+"\n", string(data))
		requireJSONSubset(t, fmt.Sprintf(`{
  "class_uid": 2004, "class_name": "Detection Finding", "category_uid": 2, "category_name": "Findings",
  "activity_id": 1, "activity_name": "Create", "type_uid": 200401, "type_name": "Detection Finding: Create",
  "time": %[1]d, "severity_id": 4, "severity": "High", "status_id": 1, "status": "New", "is_alert": true,
  "metadata": {"version": "1.7.0", "uid": %[2]q, "correlation_uid": %[3]q,
               "product": {"name": "Vigil", "vendor_name": "Vigil", "version": %[4]q},
               "labels": ["exfiltration", "removable", "attack.T1052.001"]},
  "finding_info": {"uid": %[2]q, "title": %[5]q, "desc": %[6]q,
                   "analytic": {"uid": %[7]q, "name": %[5]q, "type": "Rule", "type_id": 1, "version": "%[8]d"},
                   "related_events": [{"uid": %[9]q, "type_uid": 100101, "type_name": "File System Activity: Create"}]},
  "actor": {"user": {"name": "jdoe", "uid": "1000", "email_addr": "jdoe@corp.example"}},
  "device": {"hostname": "ws-042", "uid": "h-042", "ip": "10.20.30.42", "os": {"name": "Debian", "type_id": 200, "type": "Linux", "version": "12"}},
  "evidences": [{
    "file": {"name": "2026-10.xlsx", "path": "/media/jdoe/KINGSTON/2026-10.xlsx", "size": 48213, "type_id": 1,
             "hashes": [{"algorithm_id": 3, "algorithm": "SHA-256", "value": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}]},
    "data": {"class_uid": 1001, "class_name": "File System Activity", "category_uid": 1,
             "activity_id": 1, "activity_name": "Create", "type_uid": 100101, "time": %[1]d,
             "status_id": 1, "status": "Success",
             "metadata": {"version": "1.7.0", "uid": %[9]q},
             "actor": {"user": {"name": "jdoe", "email_addr": "jdoe@corp.example"}, "process": {"pid": 4242, "name": "cp"}},
             "file": {"path": "/media/jdoe/KINGSTON/2026-10.xlsx"},
             "unmapped": {"vigil": {"action": "file-copied-to-removable", "module": "removable",
                                    "volume": {"removable": true, "bus_type": "usb", "serial_number": "E0D55EA573DCF450"}}}}
  }],
  "unmapped": {"vigil": {"alert_status": "open", "severity": "high", "rule_ids": [%[7]q], "action": "file-copied-to-removable"}}
}`, at.UnixMilli(), a.ID, a.DecisionID, e2eVersion, ruleTitle, reasons, ruleID, ruleVersion, eventID), data)
	})

	// Nothing is left queued or dead, and each receiver got the alert once.
	require.Eventually(t, func() bool {
		var sl struct{ Sinks []alerts.SinkStatus }
		s.api(store.RoleAdmin, http.MethodGet, "/api/v1/sinks", "", http.StatusOK, &sl)
		require.Len(t, sl.Sinks, 4)
		for _, st := range sl.Sinks {
			require.Zero(t, st.DeadLetters, st.Name)
			if st.Queued != 0 {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "every queue empties")
	require.Len(t, rs.Messages(t, ""), 2)
	require.Len(t, hk.requests(), 1)
}
