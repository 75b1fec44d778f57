package identity

import (
	"fmt"
	"strings"
	"time"
)

// Source types. A source is named by its type, optionally followed by a
// colon and an instance name ("ldap:emea"); precedence goes by type.
const (
	SourceSCIM = "scim"
	SourceLDAP = "ldap"
	SourceHR   = "hr"
)

// Employment statuses, as in event.Employment.Status.
const (
	StatusActive     = "active"
	StatusNotice     = "notice"
	StatusLeave      = "leave"
	StatusTerminated = "terminated"
	StatusContractor = "contractor"
)

// ValidStatus reports whether s is an employment status Vigil knows.
func ValidStatus(s string) bool {
	switch s {
	case StatusActive, StatusNotice, StatusLeave, StatusTerminated, StatusContractor:
		return true
	}
	return false
}

// Employment is the HR context of a person. Dates are calendar dates
// (YYYY-MM-DD). The JSON names are those of event.Employment.
type Employment struct {
	// Status is one of the Status constants.
	Status string `json:"status,omitempty"`
	// Type is the kind of contract, such as "employee", "contractor",
	// "intern".
	Type       string `json:"type,omitempty"`
	StartDate  string `json:"start_date,omitempty"`
	NoticeDate string `json:"notice_date,omitempty"`
	EndDate    string `json:"end_date,omitempty"`
}

func (e Employment) empty() bool { return e == Employment{} }

// Validate checks the status and the dates.
func (e Employment) Validate() error {
	if e.Status != "" && !ValidStatus(e.Status) {
		return fmt.Errorf("status %q: want active, notice, leave, terminated or contractor", e.Status)
	}
	for _, d := range []struct{ name, v string }{
		{"start_date", e.StartDate}, {"notice_date", e.NoticeDate}, {"end_date", e.EndDate},
	} {
		if d.v == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, d.v); err != nil {
			return fmt.Errorf("%s %q: want a date YYYY-MM-DD", d.name, d.v)
		}
	}
	return nil
}

// Record is what one source says about one person. An empty field says
// nothing, and the merge takes it from another source.
type Record struct {
	// Key identifies the record within its source (SCIM id, LDAP
	// entryUUID or objectGUID, HR employee id or login). Required.
	Key string `json:"key"`
	// Login is the login name events carry in user.name, such as "jdoe".
	// Records of all sources with the same login (case-insensitive) are
	// one person. Required.
	Login string `json:"login"`
	// Aliases are other names events may carry for the person: an email
	// address, a user principal name, DOMAIN\login.
	Aliases []string `json:"aliases,omitempty"`
	// Refs are the names other records of the same source use to point at
	// this one (an LDAP DN, an HR employee id), for ManagerRef.
	Refs []string `json:"refs,omitempty"`

	FullName       string `json:"full_name,omitempty"`
	Email          string `json:"email,omitempty"`
	Title          string `json:"title,omitempty"`
	Department     string `json:"department,omitempty"`
	EmployeeNumber string `json:"employee_number,omitempty"`
	CostCenter     string `json:"cost_center,omitempty"`
	Division       string `json:"division,omitempty"`
	Organization   string `json:"organization,omitempty"`
	// Manager names the manager by login, email or any alias; the merge
	// turns it into the manager's login when the directory knows them.
	Manager string `json:"manager,omitempty"`
	// ManagerRef points at the manager's record in the same source, by Key
	// or one of its Refs; it wins over Manager when it resolves.
	ManagerRef string `json:"manager_ref,omitempty"`
	// Groups are the names of the groups the person belongs to.
	Groups []string `json:"groups,omitempty"`
	// Active is false for a disabled or deprovisioned account.
	Active     *bool      `json:"active,omitempty"`
	Contractor *bool      `json:"contractor,omitempty"`
	Employment Employment `json:"employment,omitzero"`
}

// Validate checks what the directory needs of a record.
func (r *Record) Validate() error {
	switch {
	case strings.TrimSpace(r.Key) == "":
		return fmt.Errorf("record for login %q: key is required", r.Login)
	case strings.TrimSpace(r.Login) == "":
		return fmt.Errorf("record %q: login is required", r.Key)
	}
	if err := r.Employment.Validate(); err != nil {
		return fmt.Errorf("record %q: employment: %w", r.Key, err)
	}
	return nil
}

// sourceType returns the type of a source name: "ldap" for "ldap:emea".
func sourceType(name string) string {
	t, _, _ := strings.Cut(name, ":")
	return t
}

// normName is the form names are compared and indexed in.
func normName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// normGroup is the form group names are matched against the configured
// privileged and contractor groups in: "Domain Admins" matches
// "domain-admins".
func normGroup(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '_' {
			return '-'
		}
		return r
	}, normName(s))
}
