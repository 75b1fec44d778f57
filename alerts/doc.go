// Package alerts owns the delivery of alerts to the tools a security team
// already works in: SIEMs and their collectors (syslog with CEF, LEEF or
// JSON payloads; Splunk HTTP Event Collector; signed webhooks; OCSF
// Detection Findings; JSON Lines files).
//
// A Dispatcher fans every new alert out to the configured sinks. Each sink
// has its own bounded queue, its own worker, retries with exponential
// backoff and jitter, and a dead-letter store that can be listed and
// replayed, so that one SIEM being down never delays another and no alert is
// dropped silently. Queues and dead letters persist in a state directory
// across restarts.
//
// The Dispatcher also exports the event stream: ExportEvents takes every
// newly stored event and queues it, rendered in its OCSF class (or as
// Vigil's event JSON), for the sinks whose stream is events or both. The
// event stream has its own bounded queue per sink, batched delivery, and
// drops its oldest events (counted) when a receiver stays behind; alerts
// are never dropped.
//
// The package renders alerts (CEF, LEEF, JSON, OCSF) and events (OCSF,
// JSON) and delivers them; it does not decide what is an alert. It must
// not import the engine, the API or a store implementation: the server
// hands it store.Alert values, the decision JSON they were raised from and
// the events it stored.
package alerts
