package ldapsync

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/vigil-itm/vigil/identity"
)

// Defaults for Config.
const (
	DefaultFilter       = "(&(objectCategory=person)(objectClass=user))"
	DefaultPageSize     = 500
	DefaultInterval     = 5 * time.Minute
	DefaultFullInterval = 6 * time.Hour
	DefaultTimeout      = 30 * time.Second
	// DefaultDisabledBits is userAccountControl's ACCOUNTDISABLE flag.
	DefaultDisabledBits = 2
)

// Mapping names the LDAP attributes that give each directory field. An
// empty name takes the default, which is Active Directory's; "-" leaves
// the field out.
type Mapping struct {
	// ID is the entry's stable id (default objectGUID; entryUUID on
	// OpenLDAP). Binary values are hex-encoded.
	ID string `yaml:"id"`
	// Login is the login name (default sAMAccountName; uid on OpenLDAP).
	Login string `yaml:"login"`
	// UserPrincipalName is another name events may carry (default
	// userPrincipalName).
	UserPrincipalName string `yaml:"user_principal_name"`
	Email             string `yaml:"email"`           // default mail
	FullName          string `yaml:"full_name"`       // default displayName
	Department        string `yaml:"department"`      // default department
	Title             string `yaml:"title"`           // default title
	Manager           string `yaml:"manager"`         // default manager (a DN)
	Groups            string `yaml:"groups"`          // default memberOf (DNs; the group's CN is used)
	EmployeeNumber    string `yaml:"employee_number"` // default employeeID
	Division          string `yaml:"division"`        // default division
	Organization      string `yaml:"organization"`    // default company
	EmployeeType      string `yaml:"employee_type"`   // default employeeType
	// Modified is the last-change time used for incremental syncs
	// (default whenChanged; modifyTimestamp on OpenLDAP).
	Modified string `yaml:"modified"`
	// Disabled is the attribute that says an account is disabled (default
	// userAccountControl). The account is disabled when the value, as an
	// integer, has any of DisabledBits set, or, when DisabledValues is
	// given, when it equals one of them (ignoring case).
	Disabled       string   `yaml:"disabled"`
	DisabledBits   int64    `yaml:"disabled_bits"`
	DisabledValues []string `yaml:"disabled_values"`
}

func (m *Mapping) setDefaults() {
	for _, d := range []struct {
		p   *string
		def string
	}{
		{&m.ID, "objectGUID"}, {&m.Login, "sAMAccountName"}, {&m.UserPrincipalName, "userPrincipalName"},
		{&m.Email, "mail"}, {&m.FullName, "displayName"}, {&m.Department, "department"}, {&m.Title, "title"},
		{&m.Manager, "manager"}, {&m.Groups, "memberOf"}, {&m.EmployeeNumber, "employeeID"},
		{&m.Division, "division"}, {&m.Organization, "company"}, {&m.EmployeeType, "employeeType"},
		{&m.Modified, "whenChanged"}, {&m.Disabled, "userAccountControl"},
	} {
		if *d.p == "" {
			*d.p = d.def
		}
	}
	if m.DisabledBits == 0 && len(m.DisabledValues) == 0 {
		m.DisabledBits = DefaultDisabledBits
	}
}

// attributes lists the attributes to ask the server for.
func (m *Mapping) attributes() []string {
	var out []string
	for _, a := range []string{m.ID, m.Login, m.UserPrincipalName, m.Email, m.FullName, m.Department, m.Title,
		m.Manager, m.Groups, m.EmployeeNumber, m.Division, m.Organization, m.EmployeeType, m.Modified, m.Disabled} {
		if a != "" && a != "-" {
			out = append(out, a)
		}
	}
	return out
}

// TLSConfig configures LDAPS and StartTLS.
type TLSConfig struct {
	// CAFile is a PEM bundle of the CAs the server's certificate must
	// chain to (default: the system's).
	CAFile string `yaml:"ca_file"`
	// ServerName overrides the name checked in the certificate.
	ServerName string `yaml:"server_name"`
	// CertFile and KeyFile give a client certificate, when the server
	// asks for one.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// InsecureSkipVerify turns off certificate checks. For tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Config configures an LDAP or Active Directory sync.
type Config struct {
	// URL is the server: ldap://host:389 or ldaps://host:636. Required.
	URL string `yaml:"url"`
	// StartTLS upgrades an ldap:// connection to TLS before binding.
	StartTLS bool      `yaml:"start_tls"`
	TLS      TLSConfig `yaml:"tls"`
	// BindDN and the password (BindPassword, or BindPasswordFile naming a
	// file holding it) authenticate the sync; empty binds anonymously.
	BindDN           string `yaml:"bind_dn"`
	BindPassword     string `yaml:"bind_password"`
	BindPasswordFile string `yaml:"bind_password_file"`
	// BaseDN is where people are searched for (whole subtree). Required.
	BaseDN string `yaml:"base_dn"`
	// Filter selects people (default AD's person users).
	Filter string `yaml:"filter"`
	// PageSize is the paged-search page size (default 500).
	PageSize uint32 `yaml:"page_size"`
	// Attributes maps LDAP attributes to directory fields.
	Attributes Mapping `yaml:"attributes"`
	// Interval is how often changes are synced (default 5m);
	// FullInterval how often everything is re-read, which also removes
	// deleted people (default 6h).
	Interval     time.Duration `yaml:"interval"`
	FullInterval time.Duration `yaml:"full_interval"`
	// Timeout bounds each LDAP operation (default 30s).
	Timeout time.Duration `yaml:"timeout"`
	// Source is the directory source name (default "ldap"; "ldap:NAME"
	// for a second server).
	Source string `yaml:"source"`
}

func (c *Config) setDefaults() {
	if c.Filter == "" {
		c.Filter = DefaultFilter
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.FullInterval == 0 {
		c.FullInterval = DefaultFullInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Source == "" {
		c.Source = identity.SourceLDAP
	}
	c.Attributes.setDefaults()
}

// Validate reports settings that cannot work, naming the field.
func (c *Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		errs = append(errs, errors.New("url: required"))
	case err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "":
		errs = append(errs, fmt.Errorf("url %q: want ldap://host[:port] or ldaps://host[:port]", c.URL))
	case c.StartTLS && u.Scheme == "ldaps":
		errs = append(errs, errors.New("start_tls: not with an ldaps:// url, which is TLS already"))
	}
	if c.BaseDN == "" {
		errs = append(errs, errors.New("base_dn: required"))
	}
	if c.BindPassword != "" && c.BindPasswordFile != "" {
		errs = append(errs, errors.New("bind_password and bind_password_file: set one, not both"))
	}
	if (c.BindPassword != "" || c.BindPasswordFile != "") && c.BindDN == "" {
		errs = append(errs, errors.New("bind_dn: required with a password"))
	}
	if !strings.HasPrefix(c.Filter, "(") || !strings.HasSuffix(c.Filter, ")") {
		errs = append(errs, fmt.Errorf("filter %q: want an LDAP filter in parentheses", c.Filter))
	}
	if c.Attributes.ID == "" || c.Attributes.Login == "" {
		errs = append(errs, errors.New("attributes.id and attributes.login: required"))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls.cert_file and tls.key_file go together"))
	}
	if c.Interval < 0 || c.FullInterval < 0 || c.Timeout < 0 {
		errs = append(errs, errors.New("interval, full_interval and timeout must not be negative"))
	}
	if c.FullInterval < c.Interval {
		errs = append(errs, fmt.Errorf("full_interval %s: want at least interval (%s)", c.FullInterval, c.Interval))
	}
	if t, _, _ := strings.Cut(c.Source, ":"); t != identity.SourceLDAP {
		errs = append(errs, fmt.Errorf("source %q: want ldap or ldap:NAME", c.Source))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ldap config: %w", err)
	}
	return nil
}

func (c *Config) tlsConfig() (*tls.Config, error) {
	u, _ := url.Parse(c.URL)
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLS.ServerName,
		InsecureSkipVerify: c.TLS.InsecureSkipVerify} //nolint:gosec // documented as for tests only
	if tc.ServerName == "" {
		tc.ServerName = u.Hostname()
	}
	if c.TLS.CAFile != "" {
		pem, err := os.ReadFile(c.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %q: no PEM certificate", c.TLS.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (c *Config) password() (string, error) {
	if c.BindPasswordFile == "" {
		return c.BindPassword, nil
	}
	b, err := os.ReadFile(c.BindPasswordFile)
	if err != nil {
		return "", fmt.Errorf("bind_password_file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
