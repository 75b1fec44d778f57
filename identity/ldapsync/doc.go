// Package ldapsync syncs people from LDAP or Active Directory into the
// identity directory (source "ldap"): a paged search of the configured
// base, attributes mapped to directory fields (Active Directory names by
// default), incremental syncs of what changed since the last one (by
// whenChanged or modifyTimestamp) and a periodic full reconcile, which also
// removes people the directory server no longer has. A sync that fails
// part way, for instance because the server went away, applies nothing.
//
// The package imports identity, store and github.com/go-ldap/ldap/v3; it
// must not import the API, the engine or other identity sources.
package ldapsync
