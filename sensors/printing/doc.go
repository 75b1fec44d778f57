// Package printing owns the printing sensor: it follows the CUPS page_log,
// whose lines cupsd writes in the format PageLogFormat describes, and turns
// every completed job into one print-job event with the printer, job id,
// pages, copies, document title and user. It owns the page_log line parser
// and the diagnosis of a cupsd.conf that lacks the format.
//
// The package must not import the engine, the store, the API or other
// sensors.
package printing
