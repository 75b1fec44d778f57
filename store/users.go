package store

import (
	"context"
	"time"
)

// User is one entry of the user directory, as fed by SCIM, LDAP or an HR
// export.
type User struct {
	// ID is the directory's stable id for the person. Required.
	ID string `json:"id"`
	// Name is the login name, as found in event user.name. Required and
	// unique.
	Name       string   `json:"name"`
	FullName   string   `json:"full_name,omitempty"`
	Email      string   `json:"email,omitempty"`
	Department string   `json:"department,omitempty"`
	Manager    string   `json:"manager,omitempty"`
	Groups     []string `json:"groups,omitempty"`
	// EmploymentStatus is "active", "notice", "leave", "terminated" or
	// "contractor".
	EmploymentStatus string `json:"employment_status,omitempty"`
	// EndDate is the last working day (YYYY-MM-DD), when known.
	EndDate    string `json:"end_date,omitempty"`
	Contractor bool   `json:"contractor,omitempty"`
	// Updated is when the entry was last written; Upsert sets it.
	Updated time.Time `json:"updated"`
}

// UserFilter selects directory entries. Empty fields do not filter.
type UserFilter struct {
	Department       string
	EmploymentStatus string
	// Contractor, when not nil, keeps only contractors (true) or only
	// employees (false).
	Contractor *bool
	Limit      int
	Cursor     string
}

// UserRisk is a user's accumulated risk over a period.
type UserRisk struct {
	// User is the login name.
	User string `json:"user"`
	// Score is the sum of the risk scores of the user's alerts in the
	// period, false positives excluded.
	Score float64 `json:"score"`
	// Alerts counts those alerts.
	Alerts int `json:"alerts"`
}

// Users is the user directory and per-user risk.
//
// Upsert creates or replaces the entry with u.ID (ID and Name required,
// else ErrInvalid; a Name already used by another ID is ErrConflict). Get
// returns an entry by ID and Lookup by login name, or ErrNotFound. List
// returns entries ordered by ID, one page at a time. Delete removes an
// entry (ErrNotFound when there is none); alerts about the user are kept.
//
// Risk returns a user's risk over the last days days (by alert time, up to
// now); TopRisk the limit riskiest users over the same period, highest
// first. A user need not be in the directory to have risk: risk follows
// the user.name of alerts.
//
// All methods are safe for concurrent use.
type Users interface {
	Upsert(ctx context.Context, u User) error
	Get(ctx context.Context, id string) (User, error)
	Lookup(ctx context.Context, name string) (User, error)
	List(ctx context.Context, f UserFilter) (users []User, next string, err error)
	Delete(ctx context.Context, id string) error
	Risk(ctx context.Context, name string, days int) (UserRisk, error)
	TopRisk(ctx context.Context, days, limit int) ([]UserRisk, error)
}
