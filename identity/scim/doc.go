// Package scim is a SCIM 2.0 service provider (RFC 7643 and RFC 7644)
// that identity providers such as Okta and Microsoft Entra ID provision
// users and groups into. It serves /Users, /Groups,
// /ServiceProviderConfig, /ResourceTypes and /Schemas behind its own
// bearer token, keeps the resources as provisioned, and feeds the identity
// directory one record per user (source "scim") in the same transaction.
//
// The package imports identity, store and event; it must not import the
// API, the engine or other identity sources. The API mounts Server (an
// http.Handler) at /scim/v2.
package scim
