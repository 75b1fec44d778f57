// Package e2e holds end-to-end tests of SIEM delivery and of the
// integration guide: the API server, store, engine on the built-in policy
// library, identity directory and sink dispatcher wired as the server
// wires them, delivering alerts to a real rsyslogd, a webhook receiver and
// an OCSF file, and the event stream to OCSF and JSON files; and every
// server configuration example of docs/integrations.md decoded and built
// as the server does.
//
// It has tests only. Nothing may import it.
package e2e
