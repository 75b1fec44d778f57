// Package identity owns Vigil's user directory: the records that identity
// sources (a SCIM 2.0 service provider, LDAP / Active Directory sync, an
// HR feed) keep about people, their merge into one Person per login name
// with a documented precedence, watchlists (departing, contractors,
// privileged, manual), the enrichment of events with the user's context
// before evaluation, and the directory document pushed to agents inside
// bundle data.
//
// The sources live in sub-packages (identity/scim, identity/ldapsync,
// identity/hr) and write through Directory.Apply; the directory persists
// everything through the small store.Identity interface. The package
// imports only event and store (for that interface and its sentinel
// errors); it must not import the engine, the API, alerts or sensors, nor
// its own sub-packages.
package identity
