package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/vigil-itm/vigil/engine"
	"github.com/vigil-itm/vigil/store"
)

// Role sets, one per kind of access.
var (
	// rolesAny is every role: what agents and people both need.
	rolesAny = []store.Role{store.RoleAdmin, store.RoleAnalyst, store.RoleAuditor, store.RoleAgent}
	// rolesRead reads alerts, decisions, bundles and users.
	rolesRead = []store.Role{store.RoleAdmin, store.RoleAnalyst, store.RoleAuditor}
	// rolesTriage changes alerts.
	rolesTriage = []store.Role{store.RoleAdmin, store.RoleAnalyst}
	// rolesIngest sends events.
	rolesIngest = []store.Role{store.RoleAdmin, store.RoleAgent}
	// rolesAudit reads the audit log.
	rolesAudit = []store.Role{store.RoleAdmin, store.RoleAuditor}
	// rolesAdmin manages bundles and tokens.
	rolesAdmin = []store.Role{store.RoleAdmin}
)

// handlerFunc serves one route. It returns the response body (written as
// JSON with status 200, or as a reply's status), nil when it wrote the
// response itself or has nothing to say (204), or an error that the error
// table turns into a response.
type handlerFunc func(c *gin.Context) (any, error)

// reply is a response body with a status other than 200.
type reply struct {
	status int
	body   any
}

// param documents one query or path parameter.
type param struct {
	name string
	// typ is the JSON Schema type: string, integer or boolean.
	typ    string
	format string
	desc   string
	enum   []string
}

// content documents a request or response body: its media type and a Go
// value whose type gives the schema (nil for a binary or text body).
type content struct {
	status    int
	desc      string
	mediaType string
	schema    any
	// headers are response headers worth documenting.
	headers []param
	// optional marks a request body that may be left out.
	optional bool
}

// route is one endpoint. The table of routes is the single source of the
// router, the role checks and the OpenAPI document.
type route struct {
	method string
	// path is in OpenAPI form, with {name} for a path parameter.
	path    string
	op      string
	tag     string
	summary string
	desc    string
	// roles may call the route; nil makes it public (no token needed).
	roles      []store.Role
	pathParams []param
	query      []param
	// headers are request headers the route reads.
	headers []param
	// body is the request body, when the route takes one; limit is its
	// size limit.
	body  *content
	limit int64
	// resp is the success response; more are other non-error responses
	// (such as 304).
	resp content
	more []content
	// errors are the error codes the route answers with beyond the ones
	// every route (or every authenticated route) can give.
	errors []Code
	handle handlerFunc
}

// ginPath turns an OpenAPI path into gin's form: {id} becomes :id.
func ginPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segs[i] = ":" + s[1:len(s)-1]
		}
	}
	return strings.Join(segs, "/")
}

const (
	mediaJSON = "application/json"
	mediaGzip = "application/gzip"
	mediaZip  = "application/zip"
)

// Query parameters shared by list endpoints.
var (
	qLimit  = param{name: "limit", typ: "integer", desc: "Page size (default 100, at most 1000)."}
	qCursor = param{name: "cursor", typ: "string", desc: "The next value of the previous page."}
	qFrom   = param{name: "from", typ: "string", format: "date-time", desc: "Earliest time (RFC 3339), inclusive."}
	qTo     = param{name: "to", typ: "string", format: "date-time", desc: "Latest time (RFC 3339), exclusive."}
	qUser   = param{name: "user", typ: "string", desc: "The user's login name (user.name)."}
	qHost   = param{name: "host", typ: "string", desc: "The host name (host.name)."}
	qRule   = param{name: "rule", typ: "string", desc: "A rule id among the rules that fired."}
	qDays   = param{name: "days", typ: "integer", desc: "Risk period in days, up to now (default: the server's risk_days, 30)."}
	pID     = param{name: "id", typ: "string", desc: "The record's id."}
	qReason = param{name: "reason", typ: "string", desc: "Why the evidence is opened; written to the audit log. Required."}
)

// bundleHeaders are the response headers of GET /api/v1/bundles/active.
var bundleHeaders = []param{
	{name: "ETag", typ: "string", desc: "The quoted SHA-256 of the tarball."},
	{name: "X-Vigil-Bundle-Name", typ: "string", desc: "The bundle name."},
	{name: "X-Vigil-Bundle-Revision", typ: "string", desc: "The revision."},
}

// routeTable lists every endpoint of the server.
func (s *Server) routeTable() []route {
	severities := []string{"info", "low", "medium", "high", "critical"}
	statuses := []string{string(store.StatusOpen), string(store.StatusAcknowledged), string(store.StatusResolved), string(store.StatusFalsePositive)}
	return []route{
		{
			method: http.MethodGet, path: "/healthz", op: "healthz", tag: "operations",
			summary: "Liveness: the process serves HTTP.",
			resp:    content{status: http.StatusOK, desc: "The server is alive.", mediaType: mediaJSON, schema: healthResponse{}},
			handle:  s.healthz,
		},
		{
			method: http.MethodGet, path: "/readyz", op: "readyz", tag: "operations",
			summary: "Readiness: the store answers and a bundle is active.",
			resp:    content{status: http.StatusOK, desc: "Ready to serve.", mediaType: mediaJSON, schema: readyResponse{}},
			more:    []content{{status: http.StatusServiceUnavailable, desc: "Not ready; checks says why.", mediaType: mediaJSON, schema: readyResponse{}}},
			handle:  s.readyz,
		},
		{
			method: http.MethodGet, path: "/metrics", op: "metrics", tag: "operations",
			summary: "Prometheus metrics of the server, the engine and the store.",
			resp:    content{status: http.StatusOK, desc: "Metrics in the Prometheus text exposition format.", mediaType: "text/plain"},
			handle:  s.metricsHandler(),
		},
		{
			method: http.MethodGet, path: "/api/v1/openapi.json", op: "openapi", tag: "operations",
			summary: "This API's OpenAPI 3.1 document.",
			resp:    content{status: http.StatusOK, desc: "The OpenAPI document.", mediaType: mediaJSON},
			handle:  s.openAPIHandler,
		},
		{
			method: http.MethodPost, path: "/api/v1/events", op: "ingestEvents", tag: "events",
			summary: "Ingest a batch of events from an agent.",
			desc: "Every event is decoded strictly and validated. Valid events are stored, idempotently by event id and by the " +
				"agent's batch sequence number, and every newly stored event is evaluated by the engine; decisions with findings " +
				"are recorded and alerting ones raise alerts. A batch whose seq is at or below the agent's last acknowledged seq " +
				"is a replay: nothing is stored and every event counts as a duplicate. When some events are rejected the answer " +
				"is 400 with code invalid_event, but the valid events of the batch are stored and the seq is acknowledged: " +
				"resending the batch will not help. The body may be gzip-compressed (Content-Encoding: gzip).",
			roles: rolesIngest,
			body:  &content{desc: "The batch.", mediaType: mediaJSON, schema: ingestRequest{}},
			limit: s.cfg.MaxIngestBytes,
			resp:  content{status: http.StatusOK, desc: "Every event stored or a duplicate.", mediaType: mediaJSON, schema: ingestResponse{}},
			more: []content{{status: http.StatusBadRequest, desc: "Some events were rejected (code invalid_event); the others were stored. " +
				"Also the error of a body that is not a batch (invalid_json, invalid_body).", mediaType: mediaJSON, schema: ingestResponse{}}},
			errors: []Code{CodeInvalidJSON, CodeInvalidBody, CodeInvalidEvent, CodeInvalidArgument, CodeBatchTooLarge, CodeStorageFull},
			handle: s.ingestEvents,
		},
		{
			method: http.MethodPost, path: "/api/v1/decide", op: "decide", tag: "decisions",
			summary: "Evaluate one event against the active bundle and return the decision, storing nothing.",
			desc: "The body is one event in the common schema. A hypothetical event may leave out event.id and @timestamp: " +
				"the server fills in a new id and the current time. Nothing is written to the store.",
			roles:  rolesRead,
			body:   &content{desc: "The event.", mediaType: mediaJSON, schema: eventSchema{}},
			limit:  s.cfg.MaxRequestBytes,
			resp:   content{status: http.StatusOK, desc: "The decision with its findings and explanation.", mediaType: mediaJSON, schema: engine.Decision{}},
			errors: []Code{CodeInvalidJSON, CodeInvalidEvent},
			handle: s.decide,
		},
		{
			method: http.MethodGet, path: "/api/v1/decisions", op: "listDecisions", tag: "decisions",
			summary: "List recorded decisions, newest first.",
			roles:   rolesRead,
			query: []param{qUser, qHost, {name: "bundle", typ: "string", desc: "The bundle name."}, qRule,
				{name: "alert", typ: "boolean", desc: "true keeps only decisions that asked for an alert."}, qFrom, qTo, qLimit, qCursor},
			resp:   content{status: http.StatusOK, desc: "A page of decisions.", mediaType: mediaJSON, schema: decisionList{}},
			errors: []Code{CodeInvalidArgument},
			handle: s.listDecisions,
		},
		{
			method: http.MethodGet, path: "/api/v1/decisions/{id}", op: "getDecision", tag: "decisions",
			summary:    "Get one recorded decision.",
			roles:      rolesRead,
			pathParams: []param{pID},
			resp:       content{status: http.StatusOK, desc: "The decision record.", mediaType: mediaJSON, schema: store.DecisionRecord{}},
			errors:     []Code{CodeNotFound},
			handle:     s.getDecision,
		},
		{
			method: http.MethodGet, path: "/api/v1/alerts", op: "listAlerts", tag: "alerts",
			summary: "List alerts, newest first.",
			roles:   rolesRead,
			query: []param{
				{name: "status", typ: "string", enum: statuses, desc: "The workflow status."},
				{name: "severity", typ: "string", enum: severities, desc: "The severity."},
				qRule, qUser, qHost, {name: "assignee", typ: "string", desc: "The assignee."},
				qFrom, qTo, qLimit, qCursor,
			},
			resp:   content{status: http.StatusOK, desc: "A page of alerts.", mediaType: mediaJSON, schema: alertList{}},
			errors: []Code{CodeInvalidArgument},
			handle: s.listAlerts,
		},
		{
			method: http.MethodGet, path: "/api/v1/alerts/{id}", op: "getAlert", tag: "alerts",
			summary:    "Get an alert with its history and the decision (findings and explanation) that raised it.",
			roles:      rolesRead,
			pathParams: []param{pID},
			resp:       content{status: http.StatusOK, desc: "The alert.", mediaType: mediaJSON, schema: alertDetail{}},
			errors:     []Code{CodeNotFound},
			handle:     s.getAlert,
		},
		{
			method: http.MethodPatch, path: "/api/v1/alerts/{id}", op: "updateAlert", tag: "alerts",
			summary: "Move an alert through the workflow, assign it or comment on it.",
			desc: "The workflow is open → acknowledged → resolved | false-positive; resolved and false-positive are final. " +
				"A status change the workflow does not allow is 409 invalid_transition and changes nothing.",
			roles:      rolesTriage,
			pathParams: []param{pID},
			body:       &content{desc: "What to change; at least one field.", mediaType: mediaJSON, schema: alertUpdateRequest{}},
			limit:      s.cfg.MaxRequestBytes,
			resp:       content{status: http.StatusOK, desc: "The alert after the change.", mediaType: mediaJSON, schema: store.Alert{}},
			errors:     []Code{CodeInvalidJSON, CodeInvalidBody, CodeNotFound, CodeInvalidTransition},
			handle:     s.updateAlert,
		},
		{
			method: http.MethodPost, path: "/api/v1/bundles", op: "uploadBundle", tag: "bundles",
			summary: "Upload a signed bundle tarball as a new revision.",
			desc: "The body is the .tar.gz built and signed by `vigil policy build --sign`. Its signature is verified with the " +
				"server's bundle key, and its contents validated, before anything is stored. Uploading the same bytes again " +
				"is harmless; other bytes under a stored name and revision are 409 conflict. Uploading does not activate.",
			roles:  rolesAdmin,
			body:   &content{desc: "The bundle tarball.", mediaType: mediaGzip},
			limit:  s.cfg.MaxBundleBytes,
			resp:   content{status: http.StatusCreated, desc: "The stored revision.", mediaType: mediaJSON, schema: store.BundleRevision{}},
			errors: []Code{CodeInvalidSignature, CodeInvalidBundle, CodeBundleTooLarge, CodeConflict, CodeStorageFull},
			handle: s.uploadBundle,
		},
		{
			method: http.MethodGet, path: "/api/v1/bundles", op: "listBundles", tag: "bundles",
			summary: "List stored bundle revisions, newest upload first.",
			roles:   rolesRead,
			query:   []param{{name: "name", typ: "string", desc: "Only the revisions of this bundle."}},
			resp:    content{status: http.StatusOK, desc: "The revisions.", mediaType: mediaJSON, schema: bundleList{}},
			handle:  s.listBundles,
		},
		{
			method: http.MethodGet, path: "/api/v1/bundles/active", op: "getActiveBundle", tag: "bundles",
			summary: "Download the active bundle tarball (agents poll this with If-None-Match).",
			desc: "The ETag is the quoted SHA-256 of the tarball. A request whose If-None-Match names it gets 304 with no body. " +
				"X-Vigil-Bundle-Name and X-Vigil-Bundle-Revision name the revision.",
			roles:   rolesAny,
			headers: []param{{name: "If-None-Match", typ: "string", desc: "The ETag of the agent's copy."}},
			resp:    content{status: http.StatusOK, desc: "The active bundle tarball.", mediaType: mediaGzip, headers: bundleHeaders},
			more:    []content{{status: http.StatusNotModified, desc: "The agent's copy is current.", headers: bundleHeaders}},
			errors:  []Code{CodeNotFound},
			handle:  s.activeBundle,
		},
		{
			method: http.MethodGet, path: "/api/v1/bundles/activations", op: "listActivations", tag: "bundles",
			summary: "The activation history: who activated which revision, when and why, newest first.",
			roles:   rolesRead,
			resp:    content{status: http.StatusOK, desc: "The history.", mediaType: mediaJSON, schema: activationList{}},
			handle:  s.listActivations,
		},
		{
			method: http.MethodPost, path: "/api/v1/bundles/{name}/{revision}/activate", op: "activateBundle", tag: "bundles",
			summary: "Make a stored revision the active bundle of the server and the fleet.",
			desc: "The revision is loaded and compiled into the server's engine first; a revision that fails to compile leaves " +
				"the active one in place (422 invalid_bundle). The activation is recorded in the activation history and the audit log.",
			roles: rolesAdmin,
			pathParams: []param{
				{name: "name", typ: "string", desc: "The bundle name."},
				{name: "revision", typ: "string", desc: "The revision."},
			},
			body:   &content{desc: "Why (optional; the body may be empty).", mediaType: mediaJSON, schema: activateRequest{}, optional: true},
			limit:  s.cfg.MaxRequestBytes,
			resp:   content{status: http.StatusOK, desc: "The revision, now active.", mediaType: mediaJSON, schema: store.BundleRevision{}},
			errors: []Code{CodeInvalidJSON, CodeInvalidBody, CodeNotFound, CodeInvalidBundle},
			handle: s.activateBundle,
		},
		{
			method: http.MethodGet, path: "/api/v1/users", op: "listUsers", tag: "users",
			summary: "List the user directory, with each user's risk.",
			roles:   rolesRead,
			query: []param{
				{name: "department", typ: "string", desc: "The department."},
				{name: "employment_status", typ: "string", enum: []string{"active", "notice", "leave", "terminated", "contractor"}, desc: "The employment status."},
				{name: "contractor", typ: "boolean", desc: "true keeps only contractors, false only employees."},
				qDays, qLimit, qCursor,
			},
			resp:   content{status: http.StatusOK, desc: "A page of users.", mediaType: mediaJSON, schema: userList{}},
			errors: []Code{CodeInvalidArgument},
			handle: s.listUsers,
		},
		{
			method: http.MethodGet, path: "/api/v1/users/{id}", op: "getUser", tag: "users",
			summary:    "Get a directory entry, by id or login name, with the user's risk.",
			roles:      rolesRead,
			pathParams: []param{{name: "id", typ: "string", desc: "The directory id, or the login name."}},
			query:      []param{qDays},
			resp:       content{status: http.StatusOK, desc: "The user.", mediaType: mediaJSON, schema: userWithRisk{}},
			errors:     []Code{CodeInvalidArgument, CodeNotFound},
			handle:     s.getUser,
		},
		{
			method: http.MethodGet, path: "/api/v1/risk", op: "topRisk", tag: "users",
			summary: "The riskiest users: the sum of their alerts' risk scores over the period, false positives excluded.",
			roles:   rolesRead,
			query:   []param{qDays, {name: "limit", typ: "integer", desc: "How many users (default 20, at most 1000)."}},
			resp:    content{status: http.StatusOK, desc: "Users, riskiest first.", mediaType: mediaJSON, schema: riskList{}},
			errors:  []Code{CodeInvalidArgument},
			handle:  s.topRisk,
		},
		{
			method: http.MethodGet, path: "/api/v1/audit", op: "listAudit", tag: "audit",
			summary: "List audit log entries, newest first.",
			roles:   rolesAudit,
			query: []param{
				{name: "actor", typ: "string", desc: "Who acted (the token name)."},
				{name: "action", typ: "string", desc: "What was done, such as bundle.activate."},
				{name: "target", typ: "string", desc: "The record acted on."},
				qFrom, qTo, qLimit, qCursor,
			},
			resp:   content{status: http.StatusOK, desc: "A page of entries.", mediaType: mediaJSON, schema: auditList{}},
			errors: []Code{CodeInvalidArgument},
			handle: s.listAudit,
		},
		{
			method: http.MethodPost, path: "/api/v1/tokens", op: "createToken", tag: "tokens",
			summary: "Create an API or enrollment token; the secret is returned this once.",
			roles:   rolesAdmin,
			body:    &content{desc: "The token to create.", mediaType: mediaJSON, schema: tokenRequest{}},
			limit:   s.cfg.MaxRequestBytes,
			resp:    content{status: http.StatusCreated, desc: "The token and its secret.", mediaType: mediaJSON, schema: tokenCreated{}},
			errors:  []Code{CodeInvalidJSON, CodeInvalidBody, CodeInvalidArgument},
			handle:  s.createToken,
		},
		{
			method: http.MethodGet, path: "/api/v1/tokens", op: "listTokens", tag: "tokens",
			summary: "List tokens (never their secrets), newest first.",
			roles:   rolesAdmin,
			resp:    content{status: http.StatusOK, desc: "The tokens.", mediaType: mediaJSON, schema: tokenList{}},
			handle:  s.listTokens,
		},
		{
			method: http.MethodGet, path: "/api/v1/tokens/{id}", op: "getToken", tag: "tokens",
			summary:    "Get one token (never its secret).",
			roles:      rolesAdmin,
			pathParams: []param{pID},
			resp:       content{status: http.StatusOK, desc: "The token.", mediaType: mediaJSON, schema: store.Token{}},
			errors:     []Code{CodeNotFound},
			handle:     s.getToken,
		},
		{
			method: http.MethodDelete, path: "/api/v1/tokens/{id}", op: "revokeToken", tag: "tokens",
			summary:    "Revoke a token at once.",
			roles:      rolesAdmin,
			pathParams: []param{pID},
			resp:       content{status: http.StatusNoContent, desc: "Revoked (or already revoked)."},
			errors:     []Code{CodeNotFound},
			handle:     s.revokeToken,
		},
		{
			method: http.MethodPost, path: "/api/v1/agents/enroll", op: "enrollAgent", tag: "agents",
			summary: "Enroll a new agent: redeem an enrollment token for the agent's own token.",
			desc: "Public: the enrollment token in the body is the credential. A single-use token works once; an expiring " +
				"one until it expires. The agent sends the Ed25519 public key its evidence will be signed with; the answer " +
				"carries the agent's API token (shown only here) and the server's countersigning key.",
			body:   &content{desc: "Who the agent is.", mediaType: mediaJSON, schema: enrollRequest{}},
			limit:  s.cfg.MaxRequestBytes,
			resp:   content{status: http.StatusCreated, desc: "Enrolled.", mediaType: mediaJSON, schema: enrollResponse{}},
			errors: []Code{CodeInvalidJSON, CodeInvalidBody, CodeUnauthenticated},
			handle: s.enrollAgent,
		},
		{
			method: http.MethodPost, path: "/api/v1/agents/heartbeat", op: "agentHeartbeat", tag: "agents",
			summary: "An agent reports that it is alive, its bundle revision and its sensors' health.",
			roles:   []store.Role{store.RoleAgent},
			body:    &content{desc: "The report.", mediaType: mediaJSON, schema: heartbeatRequest{}, optional: true},
			limit:   s.cfg.MaxRequestBytes,
			resp:    content{status: http.StatusOK, desc: "Recorded.", mediaType: mediaJSON, schema: heartbeatResponse{}},
			errors:  []Code{CodeInvalidJSON, CodeInvalidBody},
			handle:  s.agentHeartbeat,
		},
		{
			method: http.MethodGet, path: "/api/v1/agents/directory", op: "agentDirectory", tag: "agents",
			summary: "The user context (directory and watchlists) agents enrich events with before evaluating them.",
			desc: "The document identity.Directory.BundleData makes (see identity.md). The ETag covers its contents: " +
				"a request whose If-None-Match names it gets 304.",
			roles:   rolesIngest,
			headers: []param{{name: "If-None-Match", typ: "string", desc: "The ETag of the agent's copy."}},
			resp:    content{status: http.StatusOK, desc: "The directory document.", mediaType: mediaJSON},
			more:    []content{{status: http.StatusNotModified, desc: "The agent's copy is current."}},
			errors:  []Code{CodeUnavailable},
			handle:  s.agentDirectory,
		},
		{
			method: http.MethodGet, path: "/api/v1/agents", op: "listAgents", tag: "agents",
			summary: "List enrolled agents with last seen time, version, bundle revision and sensor health.",
			roles:   rolesRead,
			query:   []param{qLimit, qCursor},
			resp:    content{status: http.StatusOK, desc: "A page of agents.", mediaType: mediaJSON, schema: agentList{}},
			errors:  []Code{CodeInvalidArgument},
			handle:  s.listAgents,
		},
		{
			method: http.MethodGet, path: "/api/v1/agents/{id}", op: "getAgent", tag: "agents",
			summary:    "Get one agent.",
			roles:      rolesRead,
			pathParams: []param{pID},
			resp:       content{status: http.StatusOK, desc: "The agent.", mediaType: mediaJSON, schema: store.Agent{}},
			errors:     []Code{CodeNotFound},
			handle:     s.getAgent,
		},
		{
			method: http.MethodPost, path: "/api/v1/evidence", op: "uploadEvidence", tag: "evidence",
			summary: "An agent uploads an evidence package (zip).",
			desc: "The package is verified with the sending agent's enrolled key (every hash, the frame chain, the signature), " +
				"linked to the alert of its decision (which must have arrived in an events batch first, else 409), " +
				"countersigned with the server's key and kept. The package id is the first 32 hex digits of the archive's " +
				"SHA-256: sending the same archive again is harmless.",
			roles:  rolesIngest,
			body:   &content{desc: "The package as a zip archive.", mediaType: mediaZip},
			limit:  s.cfg.MaxEvidenceBytes,
			resp:   content{status: http.StatusCreated, desc: "Verified and kept.", mediaType: mediaJSON, schema: evidenceUploadResponse{}},
			more:   []content{{status: http.StatusOK, desc: "Already received.", mediaType: mediaJSON, schema: evidenceUploadResponse{}}},
			errors: []Code{CodeInvalidEvidence, CodeConflict, CodeStorageFull, CodeBodyTooLarge},
			handle: s.uploadEvidence,
		},
		{
			method: http.MethodGet, path: "/api/v1/alerts/{id}/evidence", op: "listAlertEvidence", tag: "evidence",
			summary:    "List the evidence packages of an alert (metadata only).",
			roles:      rolesTriage,
			pathParams: []param{pID},
			resp:       content{status: http.StatusOK, desc: "The alert's packages.", mediaType: mediaJSON, schema: evidenceList{}},
			errors:     []Code{CodeNotFound},
			handle:     s.listAlertEvidence,
		},
		{
			method: http.MethodGet, path: "/api/v1/evidence/{id}", op: "downloadEvidence", tag: "evidence",
			summary:    "Download an evidence package as a zip (audited; a reason is required).",
			roles:      rolesTriage,
			pathParams: []param{pID},
			query:      []param{qReason},
			resp:       content{status: http.StatusOK, desc: "The package.", mediaType: mediaZip},
			errors:     []Code{CodeReasonRequired, CodeInvalidArgument, CodeNotFound},
			handle:     s.downloadEvidence,
		},
		{
			method: http.MethodGet, path: "/api/v1/evidence/{id}/file", op: "getEvidenceFile", tag: "evidence",
			summary: "Read one file of an evidence package, for the console's player (audited; a reason is required).",
			desc: "One audit entry is written per viewer, package and reason within an hour, not one per file, so that " +
				"playing a recording frame by frame reads as one viewing in the audit log.",
			roles:      rolesTriage,
			pathParams: []param{pID},
			query: []param{{name: "path", typ: "string", desc: "The file's path inside the package, such as frames/frames.json."},
				qReason},
			resp:   content{status: http.StatusOK, desc: "The file, with its content type."},
			errors: []Code{CodeReasonRequired, CodeInvalidArgument, CodeNotFound},
			handle: s.evidenceFile,
		},
		{
			method: http.MethodPost, path: "/api/v1/evidence/{id}/verify", op: "verifyEvidence", tag: "evidence",
			summary:    "Verify a kept package again: every hash, the chain, both signatures (audited).",
			roles:      rolesTriage,
			pathParams: []param{pID},
			body:       &content{desc: "Why.", mediaType: mediaJSON, schema: evidenceVerifyRequest{}},
			limit:      s.cfg.MaxRequestBytes,
			resp:       content{status: http.StatusOK, desc: "The verdict.", mediaType: mediaJSON, schema: evidenceVerifyResponse{}},
			errors:     []Code{CodeInvalidJSON, CodeInvalidBody, CodeReasonRequired, CodeInvalidArgument, CodeNotFound},
			handle:     s.verifyEvidence,
		},
	}
}
