package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"
)

// Role is what a token may do in the API.
type Role string

// The roles.
const (
	// RoleAdmin manages tokens, bundles and settings, and does everything
	// an analyst does.
	RoleAdmin Role = "admin"
	// RoleAnalyst triages alerts and views evidence.
	RoleAnalyst Role = "analyst"
	// RoleAuditor reads alerts, decisions and the audit log, and changes
	// nothing.
	RoleAuditor Role = "auditor"
	// RoleAgent sends events, decisions and evidence, and fetches bundles.
	RoleAgent Role = "agent"
)

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleAnalyst, RoleAuditor, RoleAgent:
		return true
	}
	return false
}

// TokenKind tells API tokens from agent enrollment tokens.
type TokenKind string

// The token kinds.
const (
	// TokenAPI authenticates API requests (Tokens.Authenticate).
	TokenAPI TokenKind = "api"
	// TokenEnrollment lets a new agent obtain its own API token
	// (Tokens.Enroll); it authenticates nothing else.
	TokenEnrollment TokenKind = "enrollment"
)

// Token describes a stored token. The secret itself is never stored: only
// its SHA-256 digest is.
type Token struct {
	// ID is the token's id, a ULID; it is not secret.
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Kind      TokenKind `json:"kind"`
	CreatedBy string    `json:"created_by,omitempty"`
	Created   time.Time `json:"created"`
	// Expires is when the token stops working; zero means never.
	Expires time.Time `json:"expires,omitzero"`
	// LastUsed is when the token last authenticated a request, to the
	// minute; zero when never.
	LastUsed time.Time `json:"last_used,omitzero"`
	// Revoked is when the token was revoked; zero when it was not.
	Revoked time.Time `json:"revoked,omitzero"`
	// SingleUse marks an enrollment token that works once; Used is when it
	// was used.
	SingleUse bool      `json:"single_use,omitempty"`
	Used      time.Time `json:"used,omitzero"`
}

// NewToken describes a token to create.
type NewToken struct {
	// Name says what the token is for, such as "ci-pipeline" or the agent's
	// host name. Required.
	Name string
	// Role is required. Enrollment tokens have RoleAgent.
	Role Role
	// Kind defaults to TokenAPI.
	Kind TokenKind
	// Expires is when the token stops working; zero means never.
	Expires time.Time
	// SingleUse makes an enrollment token work once. An enrollment token
	// must be single-use, expiring or both.
	SingleUse bool
	CreatedBy string
}

// Tokens stores API and enrollment tokens.
//
// Create stores a new token and returns it with its secret, the only time
// the secret is available: only its SHA-256 digest is stored. A NewToken
// without Name, with an unknown Role or Kind, or an enrollment token that
// is neither single-use nor expiring, or not for the agent role, is
// ErrInvalid.
//
// Authenticate returns the API token whose secret is given. An unknown,
// revoked or expired secret, or the secret of an enrollment token, is
// ErrUnauthorized, and the time taken does not depend on which (nor on how
// much of a secret is right: lookups are by digest and digests are
// compared in constant time). It records the time of use, to the minute,
// without waiting for the write.
//
// Enroll redeems an enrollment token for a new agent API token named name,
// in one transaction: a single-use enrollment token is used up by it. An
// unknown, revoked, expired or used enrollment secret is ErrUnauthorized.
//
// Get returns a token by ID, or ErrNotFound; List returns every token,
// newest first. Revoke revokes a token by ID at once (ErrNotFound when there
// is none; revoking twice keeps the first time).
//
// All methods are safe for concurrent use.
type Tokens interface {
	Create(ctx context.Context, t NewToken) (tok Token, secret string, err error)
	Authenticate(ctx context.Context, secret string) (Token, error)
	Enroll(ctx context.Context, secret, name string) (tok Token, agentSecret string, err error)
	Get(ctx context.Context, id string) (Token, error)
	List(ctx context.Context) ([]Token, error)
	Revoke(ctx context.Context, id string) error
}

// TokenPrefix starts every token secret, so that secret scanners can
// recognise leaked Vigil tokens.
const TokenPrefix = "vigil_"

// NewTokenSecret returns a new random token secret: TokenPrefix followed by
// 256 random bits in unpadded base64url.
func NewTokenSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashTokenSecret returns the SHA-256 digest of a secret, the form in
// which it is stored. A secret of 256 random bits needs no salt or slow
// hash: there is nothing to guess.
func HashTokenSecret(secret string) [sha256.Size]byte {
	return sha256.Sum256([]byte(secret))
}

// WellFormedTokenSecret reports whether s has the shape of a token secret.
// Callers may use it to reject junk early; it says nothing about whether
// the secret is valid.
func WellFormedTokenSecret(s string) bool {
	rest, ok := strings.CutPrefix(s, TokenPrefix)
	return ok && len(rest) == base64.RawURLEncoding.EncodedLen(32)
}
