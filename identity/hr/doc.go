// Package hr imports people from an HR system's export, CSV or JSON, into
// the identity directory (source "hr"): employment status, start, notice
// and end dates, contract type, contractor flag, manager, department. An
// import is all or nothing: a feed with any bad row is refused whole, with
// the line of every bad row, and the directory keeps what it had. The
// Importer re-imports a file or URL on a schedule.
//
// The package imports identity and store; it must not import the API, the
// engine or other identity sources.
package hr
