package hr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vigil-itm/vigil/identity"
	"github.com/vigil-itm/vigil/store"
)

// Defaults for Config.
const (
	DefaultInterval          = time.Hour
	DefaultTimeout           = time.Minute
	DefaultMaxBytes          = 64 << 20
	DefaultMaxRemoveFraction = 0.5
)

// Formats of a feed.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// Config configures the HR feed.
type Config struct {
	// File or URL is where the feed is read from; at most one. Without
	// either, the importer only takes uploads (ImportData).
	File string `yaml:"file"`
	URL  string `yaml:"url"`
	// BearerTokenFile names a file whose content is sent as a bearer token
	// with URL requests.
	BearerTokenFile string `yaml:"bearer_token_file"`
	// Format is csv or json; empty guesses from the file extension or
	// the response's Content-Type, else csv.
	Format string `yaml:"format"`
	// Columns maps field names (user_name, email, employee_id, full_name,
	// department, title, manager, status, type, start_date, notice_date,
	// end_date, contractor, division, cost_center, organization) to the
	// feed's own CSV column names, where the built-in aliases do not match.
	Columns map[string]string `yaml:"columns"`
	// Interval is how often the feed is read again (default 1h). A feed
	// whose content did not change is not applied again.
	Interval time.Duration `yaml:"interval"`
	// Timeout bounds one fetch (default 1m).
	Timeout time.Duration `yaml:"timeout"`
	// MaxBytes limits the feed's size (default 64 MiB).
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxRemoveFraction refuses a feed that would remove more than this
	// fraction of the people the source has (default 0.5), so that a
	// truncated export does not empty the directory; 1 turns the check off.
	MaxRemoveFraction float64 `yaml:"max_remove_fraction"`
	// Source is the directory source name (default "hr").
	Source string `yaml:"source"`
}

func (c *Config) setDefaults() {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxRemoveFraction == 0 {
		c.MaxRemoveFraction = DefaultMaxRemoveFraction
	}
	if c.Source == "" {
		c.Source = identity.SourceHR
	}
}

// Validate reports settings that cannot work, naming the field.
func (c *Config) Validate() error {
	var errs []error
	if c.File != "" && c.URL != "" {
		errs = append(errs, errors.New("file and url: set one, not both"))
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("url %q: want an http or https URL", c.URL))
		}
	}
	if c.BearerTokenFile != "" && c.URL == "" {
		errs = append(errs, errors.New("bearer_token_file: only with url"))
	}
	switch c.Format {
	case "", FormatCSV, FormatJSON:
	default:
		errs = append(errs, fmt.Errorf("format %q: want csv or json", c.Format))
	}
	for field := range c.Columns {
		if fieldAliases[normKey(field)] != field {
			errs = append(errs, fmt.Errorf("columns: unknown field %q", field))
		}
	}
	if c.Interval < 0 || c.Timeout < 0 || c.MaxBytes < 0 {
		errs = append(errs, errors.New("interval, timeout and max_bytes must not be negative"))
	}
	if c.MaxRemoveFraction < 0 || c.MaxRemoveFraction > 1 {
		errs = append(errs, fmt.Errorf("max_remove_fraction: want 0 to 1, got %v", c.MaxRemoveFraction))
	}
	if t, _, _ := strings.Cut(c.Source, ":"); t != identity.SourceHR {
		errs = append(errs, fmt.Errorf("source %q: want hr or hr:NAME", c.Source))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("hr config: %w", err)
	}
	return nil
}

// Directory is where imports go. *identity.Directory implements it.
type Directory interface {
	Apply(ctx context.Context, source string, ch identity.Change) error
	Records(source string) []identity.Record
}

// Result says what an import did.
type Result struct {
	// People is how many people the feed has.
	People int `json:"people"`
	// Added and Removed count people new to the source and gone from it.
	Added   int `json:"added"`
	Removed int `json:"removed"`
	// Unchanged is true when the feed was the same as the last one
	// applied, which was not applied again.
	Unchanged bool   `json:"unchanged"`
	SHA256    string `json:"sha256"`
}

// Importer imports the HR feed. It is safe for concurrent use; imports
// run one at a time.
type Importer struct {
	cfg    Config
	dir    Directory
	log    *slog.Logger
	client *http.Client

	mu       sync.Mutex
	lastHash string
	etag     string
}

// New builds an importer.
func New(cfg Config, dir Directory, logger *slog.Logger) (*Importer, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Importer{cfg: cfg, dir: dir, log: logger.With("component", "hr", "identity_source", cfg.Source),
		client: &http.Client{Timeout: cfg.Timeout}}, nil
}

// Run imports the configured file or URL now and then every Interval
// until ctx is done. A failed import is logged and the directory keeps
// what it had. Without a file or URL, Run returns at once.
func (im *Importer) Run(ctx context.Context) error {
	if im.cfg.File == "" && im.cfg.URL == "" {
		return nil
	}
	t := time.NewTicker(im.cfg.Interval)
	defer t.Stop()
	for {
		if res, err := im.Import(ctx); err != nil {
			im.log.Error("hr import failed; the directory keeps the last good feed", "err", err)
		} else if !res.Unchanged {
			im.log.Info("hr feed imported", "people", res.People, "added", res.Added, "removed", res.Removed)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Import reads the configured file or URL and applies it.
func (im *Importer) Import(ctx context.Context) (Result, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	data, format, origin, err := im.fetch(ctx)
	if err != nil {
		return Result{}, err
	}
	if data == nil { // 304 Not Modified
		return Result{Unchanged: true, SHA256: im.lastHash}, nil
	}
	return im.apply(ctx, data, format, origin)
}

// ImportData applies a feed given whole, such as an upload through the
// API; format is csv or json.
func (im *Importer) ImportData(ctx context.Context, data []byte, format, origin string) (Result, error) {
	if format != FormatCSV && format != FormatJSON {
		return Result{}, fmt.Errorf("hr import %s: %w: format %q: want csv or json", origin, store.ErrInvalid, format)
	}
	if int64(len(data)) > im.cfg.MaxBytes {
		return Result{}, fmt.Errorf("hr import %s: %w: larger than %d bytes", origin, store.ErrInvalid, im.cfg.MaxBytes)
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.apply(ctx, data, format, origin)
}

func (im *Importer) apply(ctx context.Context, data []byte, format, origin string) (Result, error) {
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	if hash == im.lastHash {
		return Result{Unchanged: true, SHA256: hash}, nil
	}
	var (
		recs []identity.Record
		err  error
	)
	if format == FormatJSON {
		recs, err = ParseJSON(data, origin)
	} else {
		recs, err = ParseCSV(data, im.cfg.Columns, origin)
	}
	if err != nil {
		return Result{}, err
	}
	old := map[string]bool{}
	for _, r := range im.dir.Records(im.cfg.Source) {
		old[r.Key] = true
	}
	res := Result{People: len(recs), SHA256: hash}
	for _, r := range recs {
		if !old[r.Key] {
			res.Added++
		}
		delete(old, r.Key)
	}
	res.Removed = len(old)
	total := res.People - res.Added + res.Removed // people the source had
	if total > 0 && float64(res.Removed) > im.cfg.MaxRemoveFraction*float64(total) && im.cfg.MaxRemoveFraction < 1 {
		return Result{}, fmt.Errorf("hr import %s: %w: it would remove %d of the %d people the directory has from this feed "+
			"(max_remove_fraction %v); a truncated export? Nothing applied", origin, store.ErrInvalid, res.Removed, total,
			im.cfg.MaxRemoveFraction)
	}
	if err := im.dir.Apply(ctx, im.cfg.Source, identity.Change{Replace: true, Upserts: recs}); err != nil {
		return Result{}, fmt.Errorf("hr import %s: %w", origin, err)
	}
	im.lastHash = hash
	return res, nil
}

// fetch reads the feed; data is nil when the server says it has not
// changed.
func (im *Importer) fetch(ctx context.Context) (data []byte, format, origin string, err error) {
	switch {
	case im.cfg.File != "":
		origin = im.cfg.File
		f, err := os.Open(im.cfg.File)
		if err != nil {
			return nil, "", origin, fmt.Errorf("hr import: %w", err)
		}
		defer func() { _ = f.Close() }() // read-only
		data, err = readLimited(f, im.cfg.MaxBytes)
		if err != nil {
			return nil, "", origin, fmt.Errorf("hr import %s: %w", origin, err)
		}
		return data, im.format(filepath.Ext(im.cfg.File), ""), origin, nil
	case im.cfg.URL != "":
		origin = redact(im.cfg.URL)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, im.cfg.URL, nil)
		if err != nil {
			return nil, "", origin, fmt.Errorf("hr import %s: %w", origin, err)
		}
		if im.cfg.BearerTokenFile != "" {
			tok, err := os.ReadFile(im.cfg.BearerTokenFile)
			if err != nil {
				return nil, "", origin, fmt.Errorf("hr import %s: bearer_token_file: %w", origin, err)
			}
			req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
		}
		if im.etag != "" {
			req.Header.Set("If-None-Match", im.etag)
		}
		resp, err := im.client.Do(req)
		if err != nil {
			return nil, "", origin, fmt.Errorf("hr import %s: %w", origin, err)
		}
		defer func() { _ = resp.Body.Close() }() // read-only
		switch {
		case resp.StatusCode == http.StatusNotModified:
			return nil, "", origin, nil
		case resp.StatusCode != http.StatusOK:
			return nil, "", origin, fmt.Errorf("hr import %s: HTTP %s", origin, resp.Status)
		}
		data, err = readLimited(resp.Body, im.cfg.MaxBytes)
		if err != nil {
			return nil, "", origin, fmt.Errorf("hr import %s: %w", origin, err)
		}
		im.etag = resp.Header.Get("ETag")
		u, _ := url.Parse(im.cfg.URL)
		return data, im.format(filepath.Ext(u.Path), resp.Header.Get("Content-Type")), origin, nil
	}
	return nil, "", "", fmt.Errorf("hr import: %w: no file or url configured", store.ErrInvalid)
}

func (im *Importer) format(ext, contentType string) string {
	if im.cfg.Format != "" {
		return im.cfg.Format
	}
	if strings.EqualFold(ext, ".json") || strings.Contains(contentType, "json") {
		return FormatJSON
	}
	return FormatCSV
}

func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: the feed is larger than max_bytes (%d)", store.ErrInvalid, limit)
	}
	return data, nil
}

// redact drops credentials and the query from a URL for logs and errors.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the configured url"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}
