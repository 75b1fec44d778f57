// Package logtail owns the following of append-only log files for the
// sensors that read them (the postfix mail log, the CUPS page_log): lines
// are handed over whole, files renamed away and recreated by log rotation
// or truncated in place are followed, and a Position saved by the sensor
// lets a restarted agent resume after the last line it read.
//
// It reads files only: it must not import the engine, the store, the API
// or any sensor package.
package logtail
