package scim

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Defaults for Config.
const (
	DefaultBasePath     = "/scim/v2"
	DefaultPageSize     = 100
	DefaultMaxResults   = 1000
	DefaultMaxBodyBytes = 4 << 20
	// LoginUserNameLocal makes the login the part of userName before any
	// '@' (and after any DOMAIN\), lower-cased: jdoe@corp.example → jdoe.
	LoginUserNameLocal = "username-local"
	// LoginUserName makes the login the whole userName, lower-cased.
	LoginUserName = "username"
	// minTokenLen is the shortest bearer token accepted.
	minTokenLen = 32
)

// Config configures the SCIM service provider.
type Config struct {
	// Token is the bearer token identity providers send; TokenFile names a
	// file holding it (surrounding white space ignored). One of them is
	// required, at least 32 characters.
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	// BasePath is where the handler is mounted (default /scim/v2); it is
	// stripped from request paths when present.
	BasePath string `yaml:"base_path"`
	// BaseURL is the external URL of BasePath, used in meta.location, such
	// as https://vigil.example.com/scim/v2. Default: from the request.
	BaseURL string `yaml:"base_url"`
	// Login says how a user's login name (the user.name events carry) is
	// derived from userName: username-local (default) or username.
	Login string `yaml:"login"`
	// Source is the directory source name (default "scim"; "scim:NAME"
	// for a second provider).
	Source string `yaml:"source"`
	// MaxResults caps a page of a list (default 1000); lists without count
	// return DefaultPageSize.
	MaxResults int `yaml:"max_results"`
	// MaxBodyBytes limits request bodies (default 4 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

func (c *Config) setDefaults() {
	if c.BasePath == "" {
		c.BasePath = DefaultBasePath
	}
	if c.Login == "" {
		c.Login = LoginUserNameLocal
	}
	if c.Source == "" {
		c.Source = "scim"
	}
	if c.MaxResults == 0 {
		c.MaxResults = DefaultMaxResults
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
}

// Validate reports settings that cannot work, naming the field.
func (c *Config) Validate() error {
	var errs []error
	switch {
	case c.Token != "" && c.TokenFile != "":
		errs = append(errs, errors.New("token and token_file: set one, not both"))
	case c.Token == "" && c.TokenFile == "":
		errs = append(errs, errors.New("token or token_file: one is required"))
	case c.Token != "" && len(c.Token) < minTokenLen:
		errs = append(errs, fmt.Errorf("token: want at least %d characters", minTokenLen))
	}
	if !strings.HasPrefix(c.BasePath, "/") || strings.HasSuffix(c.BasePath, "/") {
		errs = append(errs, fmt.Errorf("base_path %q: want a path starting, and not ending, with /", c.BasePath))
	}
	if c.Login != LoginUserNameLocal && c.Login != LoginUserName {
		errs = append(errs, fmt.Errorf("login %q: want %s or %s", c.Login, LoginUserNameLocal, LoginUserName))
	}
	if t, _, _ := strings.Cut(c.Source, ":"); t != "scim" {
		errs = append(errs, fmt.Errorf("source %q: want scim or scim:NAME", c.Source))
	}
	if c.MaxResults < 1 {
		errs = append(errs, fmt.Errorf("max_results: want at least 1, got %d", c.MaxResults))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("max_body_bytes: want at least 1024, got %d", c.MaxBodyBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("scim config: %w", err)
	}
	return nil
}

// token returns the configured bearer token.
func (c *Config) token() (string, error) {
	if c.Token != "" {
		return c.Token, nil
	}
	b, err := os.ReadFile(c.TokenFile)
	if err != nil {
		return "", fmt.Errorf("scim config: token_file: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if len(t) < minTokenLen {
		return "", fmt.Errorf("scim config: token_file %q: want a token of at least %d characters", c.TokenFile, minTokenLen)
	}
	return t, nil
}
