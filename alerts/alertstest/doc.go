// Package alertstest is test support for SIEM delivery: a private rsyslogd
// that receives syslog over TLS (RFC 5425) and TCP (RFC 6587) and records
// every message it parses, certificates for it, and CEF and LEEF parsers
// written from the vendors' format descriptions, independently of the
// renderers in package alerts, so that tests read payloads back the way a
// SIEM does.
//
// It is imported by tests only. It must not import package alerts (whose
// own tests may use it), the API or the engine.
package alertstest
