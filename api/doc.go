// Package api owns Vigil's HTTP API: the REST endpoints under /api/v1
// (event ingest for agents, decision queries, alerts and their workflow,
// policy bundle revisions, the user directory with per-user risk, the
// audit log and API tokens), /healthz, /readyz and /metrics, and the
// OpenAPI document that describes them.
//
// One table (routes.go) lists every endpoint with the roles allowed to call
// it; the gin router, the role checks and the OpenAPI document are all
// built from it. One table (errors.go) maps every error kind the API meets
// (store sentinels, event decoding errors, bundle errors, authentication)
// to an HTTP status and a stable error code.
//
// The package declares the small interfaces it needs (DecisionEngine,
// BundleActivator) and takes the store's interfaces as they are. It must
// not import agent, sensors or any store implementation: the command wires
// those in through Deps.
package api
