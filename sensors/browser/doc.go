// Package browser owns the browser-history sensor: it finds the history
// databases of Firefox (places.sqlite) and of the Chromium family (Chrome,
// Chromium, Edge, Brave: History) below each user's home, copies a database
// with its write-ahead log or rollback journal to a private temporary
// directory whenever it changes (the browsers keep them locked, and the
// user's files are never opened for writing), reads the visits and
// downloads added since a cursor kept in the agent's data directory, and
// emits web-visit and web-download events whose destinations are
// classified with the netconn sensor's shipped domain list.
//
// It owns the URL cleaning that keeps query strings and credentials out of
// events, the browsers' time conversions, and the queries over both
// browsers' schemas. It must not import the engine, the store, the API or
// any sensor other than netconn, whose domain list and classifier it reuses.
package browser
