package identity

import (
	"errors"
	"fmt"
	"slices"
)

// Defaults for Config.
const (
	DefaultDepartingWindowDays = 30
	DefaultDepartedDays        = 90
)

// DefaultPrivilegedGroups and DefaultContractorGroups are the groups whose
// members the privileged and contractors watchlists hold; they match the
// built-in policy library's data/people.yaml.
var (
	DefaultPrivilegedGroups = []string{"admins", "domain-admins", "enterprise-admins", "sysadmins", "dba", "root-access", "cloud-admins"}
	DefaultContractorGroups = []string{"contractors", "vendors", "external-staff"}
)

// Config configures a Directory: how sources are merged and how the
// computed watchlists are computed.
type Config struct {
	// IdentityPrecedence orders source types for identity fields (name,
	// email, title, department, manager, employee number, cost centre,
	// division, organisation). Default: scim, ldap, hr.
	IdentityPrecedence []string `yaml:"identity_precedence"`
	// EmploymentPrecedence orders source types for employment fields
	// (status, type, start, notice and end dates, contractor flag).
	// Default: hr, scim, ldap.
	EmploymentPrecedence []string `yaml:"employment_precedence"`
	// DepartingWindowDays puts a person on departing watchlists this many
	// days before their end date. Default 30.
	DepartingWindowDays int `yaml:"departing_window_days"`
	// DepartedDays keeps a person on departing watchlists this many days
	// after their end date. Default 90.
	DepartedDays int `yaml:"departed_days"`
	// PrivilegedGroups are the groups whose members are privileged.
	// Matching ignores case and treats spaces and underscores as dashes.
	PrivilegedGroups []string `yaml:"privileged_groups"`
	// ContractorGroups are the groups whose members are contractors.
	ContractorGroups []string `yaml:"contractor_groups"`
}

// DefaultConfig returns the configuration with every default filled in.
func DefaultConfig() Config {
	c := Config{}
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	if c.IdentityPrecedence == nil {
		c.IdentityPrecedence = []string{SourceSCIM, SourceLDAP, SourceHR}
	}
	if c.EmploymentPrecedence == nil {
		c.EmploymentPrecedence = []string{SourceHR, SourceSCIM, SourceLDAP}
	}
	if c.DepartingWindowDays == 0 {
		c.DepartingWindowDays = DefaultDepartingWindowDays
	}
	if c.DepartedDays == 0 {
		c.DepartedDays = DefaultDepartedDays
	}
	if c.PrivilegedGroups == nil {
		c.PrivilegedGroups = slices.Clone(DefaultPrivilegedGroups)
	}
	if c.ContractorGroups == nil {
		c.ContractorGroups = slices.Clone(DefaultContractorGroups)
	}
}

// Validate reports settings that cannot work, naming the field.
func (c *Config) Validate() error {
	var errs []error
	for _, p := range []struct {
		name string
		v    []string
	}{{"identity_precedence", c.IdentityPrecedence}, {"employment_precedence", c.EmploymentPrecedence}} {
		seen := map[string]bool{}
		for _, s := range p.v {
			switch s {
			case SourceSCIM, SourceLDAP, SourceHR:
			default:
				errs = append(errs, fmt.Errorf("%s: unknown source type %q (want scim, ldap or hr)", p.name, s))
			}
			if seen[s] {
				errs = append(errs, fmt.Errorf("%s: %q listed twice", p.name, s))
			}
			seen[s] = true
		}
	}
	if c.DepartingWindowDays < 0 {
		errs = append(errs, fmt.Errorf("departing_window_days: must not be negative, got %d", c.DepartingWindowDays))
	}
	if c.DepartedDays < 0 {
		errs = append(errs, fmt.Errorf("departed_days: must not be negative, got %d", c.DepartedDays))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("identity config: %w", err)
	}
	return nil
}
