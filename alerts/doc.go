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
// The package renders alerts (CEF, LEEF, JSON, OCSF) and delivers them; it
// does not decide what is an alert. It must not import the engine, the API
// or a store implementation: the server hands it store.Alert values and the
// decision JSON they were raised from.
package alerts
