package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vigil-itm/vigil/store"
)

// maxLimit is the largest page size a request may ask for.
const maxLimit = store.MaxLimit

// decisionList is a page of decision records.
type decisionList struct {
	Decisions []store.DecisionRecord `json:"decisions"`
	// Next is the cursor of the following page, "" after the last.
	Next string `json:"next"`
}

func (s *Server) listDecisions(c *gin.Context) (any, error) {
	q := queryParams{c: c}
	f := store.DecisionFilter{
		User: q.str("user"), Host: q.str("host"), Bundle: q.str("bundle"), Rule: q.str("rule"),
		From: q.time("from"), To: q.time("to"), Limit: q.int("limit", 0, 1, maxLimit), Cursor: q.str("cursor"),
	}
	if a := q.bool("alert"); a != nil && *a {
		f.AlertsOnly = true
	}
	if q.err != nil {
		return nil, q.err
	}
	recs, next, err := s.deps.Decisions.List(c.Request.Context(), f)
	if err != nil {
		return nil, fmt.Errorf("list decisions: %w", err)
	}
	if recs == nil {
		recs = []store.DecisionRecord{}
	}
	return decisionList{Decisions: recs, Next: next}, nil
}

func (s *Server) getDecision(c *gin.Context) (any, error) {
	rec, err := s.deps.Decisions.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// alertList is a page of alerts.
type alertList struct {
	Alerts []store.Alert `json:"alerts"`
	// Next is the cursor of the following page, "" after the last.
	Next string `json:"next"`
}

// alertDetail is an alert with its history and the decision that raised
// it.
type alertDetail struct {
	Alert store.Alert `json:"alert"`
	// History lists the alert's changes, oldest first.
	History []store.AlertChange `json:"history"`
	// Decision is the decision that raised the alert, with its findings
	// and explanation; null when the decision is no longer stored.
	Decision json.RawMessage `json:"decision" schema:"Decision,nullable"`
}

var severities = []string{"info", "low", "medium", "high", "critical"}

func (s *Server) listAlerts(c *gin.Context) (any, error) {
	q := queryParams{c: c}
	f := store.AlertFilter{
		Status: store.AlertStatus(q.enum("status", []string{
			string(store.StatusOpen), string(store.StatusAcknowledged), string(store.StatusResolved), string(store.StatusFalsePositive),
		})),
		Severity: q.enum("severity", severities),
		Rule:     q.str("rule"), User: q.str("user"), Host: q.str("host"), Assignee: q.str("assignee"),
		From: q.time("from"), To: q.time("to"), Limit: q.int("limit", 0, 1, maxLimit), Cursor: q.str("cursor"),
	}
	if q.err != nil {
		return nil, q.err
	}
	alerts, next, err := s.deps.Alerts.List(c.Request.Context(), f)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	if alerts == nil {
		alerts = []store.Alert{}
	}
	return alertList{Alerts: alerts, Next: next}, nil
}

func (s *Server) getAlert(c *gin.Context) (any, error) {
	ctx := c.Request.Context()
	id := c.Param("id")
	a, err := s.deps.Alerts.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	hist, err := s.deps.Alerts.History(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get alert %q: history: %w", id, err)
	}
	if hist == nil {
		hist = []store.AlertChange{}
	}
	out := alertDetail{Alert: a, History: hist, Decision: json.RawMessage("null")}
	rec, err := s.deps.Decisions.Get(ctx, a.DecisionID)
	switch {
	case err == nil && len(rec.Decision) > 0:
		out.Decision = rec.Decision
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("get alert %q: decision: %w", id, err)
	}
	return out, nil
}

// alertUpdateRequest is the body of PATCH /api/v1/alerts/{id}.
type alertUpdateRequest struct {
	// Status is the new status.
	Status store.AlertStatus `json:"status,omitempty" enum:"acknowledged,resolved,false-positive"`
	// Assignee is the new assignee; "" unassigns.
	Assignee *string `json:"assignee,omitempty"`
	// Comment is recorded in the alert's history with the change.
	Comment string `json:"comment,omitempty"`
}

func (s *Server) updateAlert(c *gin.Context) (any, error) {
	data, err := readBody(c, s.cfg.MaxRequestBytes)
	if err != nil {
		return nil, err
	}
	var req alertUpdateRequest
	if err := decodeJSON(data, &req, false); err != nil {
		return nil, err
	}
	if req.Status != "" && !req.Status.Valid() {
		return nil, errorf(CodeInvalidBody, "status: unknown value %q (want acknowledged, resolved or false-positive)", req.Status)
	}
	if req.Status == "" && req.Assignee == nil && req.Comment == "" {
		return nil, errorf(CodeInvalidBody, "nothing to change: give status, assignee or comment")
	}
	id := c.Param("id")
	a, err := s.deps.Alerts.Update(c.Request.Context(), id, store.AlertUpdate{
		Actor: actorOf(c), Status: req.Status, Assignee: req.Assignee, Comment: req.Comment,
	})
	if err != nil {
		return nil, err // the store's error names the alert and the transition
	}
	// The alert's history has the change; the audit log has it too, so that
	// an auditor sees triage beside evidence views in one place.
	what := "alert.update"
	if req.Status != "" {
		what = "alert." + string(req.Status)
	}
	if err := s.audit(c, what, id, req.Comment); err != nil {
		return nil, err
	}
	return a, nil
}

// userWithRisk is a directory entry with the user's risk.
type userWithRisk struct {
	store.User
	// Risk is the user's accumulated risk over the period.
	Risk store.UserRisk `json:"risk"`
}

// userList is a page of the user directory.
type userList struct {
	Users []userWithRisk `json:"users"`
	// Days is the risk period.
	Days int `json:"days"`
	// Next is the cursor of the following page, "" after the last.
	Next string `json:"next"`
}

// maxRiskDays bounds the risk period a request may ask for.
const maxRiskDays = 3660

func (s *Server) listUsers(c *gin.Context) (any, error) {
	q := queryParams{c: c}
	f := store.UserFilter{
		Department:       q.str("department"),
		EmploymentStatus: q.enum("employment_status", []string{"active", "notice", "leave", "terminated", "contractor"}),
		Contractor:       q.bool("contractor"),
		Limit:            q.int("limit", 0, 1, maxLimit), Cursor: q.str("cursor"),
	}
	days := q.int("days", s.cfg.RiskDays, 1, maxRiskDays)
	if q.err != nil {
		return nil, q.err
	}
	ctx := c.Request.Context()
	users, next, err := s.deps.Users.List(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out := userList{Users: make([]userWithRisk, 0, len(users)), Days: days, Next: next}
	for _, u := range users {
		r, err := s.deps.Users.Risk(ctx, u.Name, days)
		if err != nil {
			return nil, fmt.Errorf("list users: risk of %q: %w", u.Name, err)
		}
		out.Users = append(out.Users, userWithRisk{User: u, Risk: r})
	}
	return out, nil
}

func (s *Server) getUser(c *gin.Context) (any, error) {
	q := queryParams{c: c}
	days := q.int("days", s.cfg.RiskDays, 1, maxRiskDays)
	if q.err != nil {
		return nil, q.err
	}
	ctx := c.Request.Context()
	id := c.Param("id")
	u, err := s.deps.Users.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		u, err = s.deps.Users.Lookup(ctx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("get user %q: %w", id, err)
	}
	r, err := s.deps.Users.Risk(ctx, u.Name, days)
	if err != nil {
		return nil, fmt.Errorf("get user %q: risk: %w", id, err)
	}
	return userWithRisk{User: u, Risk: r}, nil
}

// riskList is the riskiest users.
type riskList struct {
	Users []store.UserRisk `json:"users"`
	// Days is the risk period.
	Days int `json:"days"`
}

func (s *Server) topRisk(c *gin.Context) (any, error) {
	q := queryParams{c: c}
	days := q.int("days", s.cfg.RiskDays, 1, maxRiskDays)
	limit := q.int("limit", 20, 1, maxLimit)
	if q.err != nil {
		return nil, q.err
	}
	users, err := s.deps.Users.TopRisk(c.Request.Context(), days, limit)
	if err != nil {
		return nil, fmt.Errorf("top risk: %w", err)
	}
	if users == nil {
		users = []store.UserRisk{}
	}
	return riskList{Users: users, Days: days}, nil
}

// auditList is a page of audit log entries.
type auditList struct {
	Entries []store.AuditEntry `json:"entries"`
	// Next is the cursor of the following page, "" after the last.
	Next string `json:"next"`
}

func (s *Server) listAudit(c *gin.Context) (any, error) {
	q := queryParams{c: c}
	f := store.AuditFilter{
		Actor: q.str("actor"), Action: q.str("action"), Target: q.str("target"),
		From: q.time("from"), To: q.time("to"), Limit: q.int("limit", 0, 1, maxLimit), Cursor: q.str("cursor"),
	}
	if q.err != nil {
		return nil, q.err
	}
	entries, next, err := s.deps.Audit.List(c.Request.Context(), f)
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	if entries == nil {
		entries = []store.AuditEntry{}
	}
	return auditList{Entries: entries, Next: next}, nil
}

// audit records an action in the audit log. The action has happened: a
// failure to record it fails the request, so that the client knows.
func (s *Server) audit(c *gin.Context, action, target, reason string) error {
	_, err := s.deps.Audit.Append(c.Request.Context(), store.AuditEntry{
		Time: s.now().UTC(), Actor: actorOf(c), Action: action, Target: target, Reason: reason, RequestID: requestIDOf(c),
	})
	if err != nil {
		return fmt.Errorf("audit %s %s: %w", action, target, err)
	}
	return nil
}

// tokenRequest is the body of POST /api/v1/tokens.
type tokenRequest struct {
	// Name says what the token is for, such as "ci-pipeline" or an
	// analyst's login.
	Name string `json:"name" api:"required"`
	// Role is what the token may do.
	Role store.Role `json:"role" api:"required" enum:"admin,analyst,auditor,agent"`
	// Kind is "api" (default) or "enrollment" (lets one new agent obtain
	// its own agent token; role agent, and single_use or expires needed).
	Kind store.TokenKind `json:"kind,omitempty" enum:"api,enrollment"`
	// Expires is when the token stops working; absent means never.
	Expires time.Time `json:"expires,omitzero"`
	// SingleUse makes an enrollment token work once.
	SingleUse bool `json:"single_use,omitempty"`
	// Reason is recorded in the audit log.
	Reason string `json:"reason,omitempty"`
}

// tokenCreated is a new token with its secret.
type tokenCreated struct {
	Token store.Token `json:"token"`
	// Secret is the bearer secret. It is shown this once: only its digest
	// is stored.
	Secret string `json:"secret"`
}

// tokenList lists tokens.
type tokenList struct {
	Tokens []store.Token `json:"tokens"`
}

func (s *Server) createToken(c *gin.Context) (any, error) {
	data, err := readBody(c, s.cfg.MaxRequestBytes)
	if err != nil {
		return nil, err
	}
	var req tokenRequest
	if err := decodeJSON(data, &req, false); err != nil {
		return nil, err
	}
	switch {
	case req.Name == "":
		return nil, errorf(CodeInvalidBody, "name: required")
	case !req.Role.Valid():
		return nil, errorf(CodeInvalidBody, "role: want admin, analyst, auditor or agent, got %q", req.Role)
	case req.Kind != "" && req.Kind != store.TokenAPI && req.Kind != store.TokenEnrollment:
		return nil, errorf(CodeInvalidBody, "kind: want api or enrollment, got %q", req.Kind)
	case !req.Expires.IsZero() && !req.Expires.After(s.now()):
		return nil, errorf(CodeInvalidBody, "expires: %s is in the past", req.Expires.Format(time.RFC3339))
	}
	tok, secret, err := s.deps.Tokens.Create(c.Request.Context(), store.NewToken{
		Name: req.Name, Role: req.Role, Kind: req.Kind, Expires: req.Expires, SingleUse: req.SingleUse, CreatedBy: actorOf(c),
	})
	if err != nil {
		return nil, err
	}
	if err := s.audit(c, "token.create", tok.ID, req.Reason); err != nil {
		return nil, err
	}
	return reply{status: http.StatusCreated, body: tokenCreated{Token: tok, Secret: secret}}, nil
}

func (s *Server) listTokens(c *gin.Context) (any, error) {
	toks, err := s.deps.Tokens.List(c.Request.Context())
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	if toks == nil {
		toks = []store.Token{}
	}
	return tokenList{Tokens: toks}, nil
}

func (s *Server) getToken(c *gin.Context) (any, error) {
	tok, err := s.deps.Tokens.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	return tok, nil
}

func (s *Server) revokeToken(c *gin.Context) (any, error) {
	id := c.Param("id")
	if err := s.deps.Tokens.Revoke(c.Request.Context(), id); err != nil {
		return nil, err
	}
	return nil, s.audit(c, "token.revoke", id, "")
}
