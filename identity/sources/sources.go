// Package sources wires the identity directory and the sources its
// configuration turns on (SCIM, LDAP / Active Directory, HR feed) into one
// component with one lifecycle, for the server to build from its
// configuration's identity section.
//
// It imports identity and its source packages; it must not import the
// API or the engine.
package sources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/vigil-itm/vigil/identity"
	"github.com/vigil-itm/vigil/identity/hr"
	"github.com/vigil-itm/vigil/identity/ldapsync"
	"github.com/vigil-itm/vigil/identity/scim"
	"github.com/vigil-itm/vigil/store"
)

// Config is the server configuration's identity section: the directory's
// settings, and one optional section per source (absent: off).
type Config struct {
	identity.Config `yaml:",inline"`

	SCIM *scim.Config     `yaml:"scim"`
	LDAP *ldapsync.Config `yaml:"ldap"`
	HR   *hr.Config       `yaml:"hr"`
}

// Decode decodes an identity section strictly (unknown keys are errors
// that name the line). A nil node gives the defaults.
func Decode(node *yaml.Node) (Config, error) {
	var c Config
	if node == nil || node.Kind == 0 {
		return c, nil
	}
	out, err := yaml.Marshal(node)
	if err != nil {
		return c, fmt.Errorf("identity config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("identity config (section at line %d): %w", node.Line, err)
	}
	return c, nil
}

// Identity is the directory with its sources.
type Identity struct {
	// Directory is the merged directory: Enrich, BundleData, People,
	// watchlists.
	Directory *identity.Directory
	// SCIM is the SCIM service provider, nil when not configured; mount it
	// at its base path (/scim/v2).
	SCIM *scim.Server
	// LDAP syncs the LDAP server, nil when not configured.
	LDAP *ldapsync.Syncer
	// HR imports the HR feed, nil when not configured.
	HR *hr.Importer
}

// New builds the directory on st, loads it and builds the configured
// sources; Run runs the scheduled ones.
func New(ctx context.Context, cfg Config, st store.Identity, logger *slog.Logger) (*Identity, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d, err := identity.New(cfg.Config, st, logger)
	if err != nil {
		return nil, err
	}
	if err := d.Load(ctx); err != nil {
		return nil, err
	}
	id := &Identity{Directory: d}
	if cfg.SCIM != nil {
		if id.SCIM, err = scim.New(*cfg.SCIM, d, logger); err != nil {
			return nil, err
		}
		if err := id.SCIM.Load(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.LDAP != nil {
		if id.LDAP, err = ldapsync.New(*cfg.LDAP, d, logger); err != nil {
			return nil, err
		}
	}
	if cfg.HR != nil {
		if id.HR, err = hr.New(*cfg.HR, d, logger); err != nil {
			return nil, err
		}
	}
	return id, nil
}

// SCIMHandler returns the SCIM handler, or one that answers 404 when SCIM
// is not configured.
func (id *Identity) SCIMHandler() http.Handler {
	if id.SCIM == nil {
		return http.NotFoundHandler()
	}
	return id.SCIM
}

// Run runs the LDAP sync and HR re-import loops until ctx is done.
func (id *Identity) Run(ctx context.Context) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, run := range []func(context.Context) error{id.runLDAP, id.runHR} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (id *Identity) runLDAP(ctx context.Context) error {
	if id.LDAP == nil {
		return nil
	}
	return id.LDAP.Run(ctx)
}

func (id *Identity) runHR(ctx context.Context) error {
	if id.HR == nil {
		return nil
	}
	return id.HR.Run(ctx)
}
