package browser

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go)
)

// visit is one row of a browser's visit table.
type visit struct {
	ID         int64
	Raw        int64 // the visit time in the database's units
	When       time.Time
	URL        string
	Title      string
	Transition string
}

// download is one finished download.
type download struct {
	ID      int64
	Key     int64 // the cursor key in the database's units
	When    time.Time
	Path    string
	URL     string
	PageURL string // the page the download started from, where known
	Mime    string
	Size    int64
	State   string // complete, cancelled, interrupted, failed, blocked
	Success bool
}

// historyReader reads one schema family's visits and downloads after a
// cursor, calling fn for each row in order and moving the cursor past every
// row read, reported or not. Each returns how many rows it read (at most
// limit).
type historyReader interface {
	// Start returns the cursor for a database read the first time: only
	// what happened after since is new.
	Start(ctx context.Context, db *sql.DB, since time.Time) (Cursor, error)
	Visits(ctx context.Context, db *sql.DB, c *Cursor, limit int, fn func(visit)) (int, error)
	Downloads(ctx context.Context, db *sql.DB, c *Cursor, limit int, fn func(download)) (int, error)
}

func readerFor(family string) historyReader {
	if family == familyFirefox {
		return firefoxReader{}
	}
	return chromiumReader{}
}

// chromiumReader reads the History database of Chromium, Chrome, Edge and
// Brave: urls, visits, downloads and downloads_url_chains.
type chromiumReader struct{}

// Chromium's page transition core types (the low byte of
// visits.transition), as named in its ui/base/page_transition_types.h.
var chromiumTransitions = []string{
	"link", "typed", "auto_bookmark", "auto_subframe", "manual_subframe",
	"generated", "auto_toplevel", "form_submit", "reload", "keyword", "keyword_generated",
}

func chromiumTransition(t int64) string {
	if c := t & 0xff; c >= 0 && c < int64(len(chromiumTransitions)) {
		return chromiumTransitions[c]
	}
	return ""
}

// Chromium's download states (downloads.state).
var chromiumDownloadStates = map[int64]string{1: "complete", 2: "cancelled", 3: "interrupted", 4: "interrupted"}

func (chromiumReader) Start(ctx context.Context, db *sql.DB, since time.Time) (Cursor, error) {
	c := Cursor{VisitTime: ToChromeTime(since), DownloadKey: ToChromeTime(since)}
	err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM visits WHERE visit_time <= ?`, c.VisitTime).Scan(&c.VisitID)
	if err != nil {
		return c, fmt.Errorf("find the first visit after %v: %w", since, err)
	}
	return c, nil
}

func (chromiumReader) Visits(ctx context.Context, db *sql.DB, c *Cursor, limit int, fn func(visit)) (int, error) {
	// Visits synced from the user's other devices carry the originating
	// device's cache GUID (Chromium 114 and later); they did not happen here.
	local := ""
	if ok, err := hasColumn(ctx, db, "visits", "originator_cache_guid"); err != nil {
		return 0, err
	} else if ok {
		local = ` AND COALESCE(v.originator_cache_guid, '') = ''`
	}
	q := `SELECT v.id, v.visit_time, v.transition, COALESCE(u.url, ''), COALESCE(u.title, '')
		FROM visits v JOIN urls u ON u.id = v.url
		WHERE (v.id > ?1 OR v.visit_time > ?2)` + local + `
		ORDER BY v.id LIMIT ?3`
	return readVisits(ctx, db, q, c, limit, fn, func(v *visit, transition int64) {
		v.When, v.Transition = FromChromeTime(v.Raw), chromiumTransition(transition)
	})
}

// readVisits runs a visits query whose columns are id, raw time, transition
// code, URL and title, advances the cursor and hands each visit, completed
// by convert, to fn. It returns how many rows it read.
func readVisits(ctx context.Context, db *sql.DB, q string, c *Cursor, limit int, fn func(visit), convert func(*visit, int64)) (int, error) {
	rows, err := db.QueryContext(ctx, q, c.VisitID, c.VisitTime, limit)
	if err != nil {
		return 0, fmt.Errorf("query visits: %w", err)
	}
	defer func() { _ = rows.Close() }()
	n := 0
	for rows.Next() {
		var v visit
		var transition int64
		if err := rows.Scan(&v.ID, &v.Raw, &transition, &v.URL, &v.Title); err != nil {
			return n, fmt.Errorf("read visit: %w", err)
		}
		n++
		c.VisitID, c.VisitTime = max(c.VisitID, v.ID), max(c.VisitTime, v.Raw)
		convert(&v, transition)
		fn(v)
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read visits: %w", err)
	}
	return n, nil
}

// chromiumDownloadKey orders finished downloads: a download enters the
// list when it stops (end_time), or at its start when it has no end time.
const chromiumDownloadKey = `(CASE WHEN d.end_time > 0 THEN d.end_time ELSE d.start_time END)`

func (chromiumReader) Downloads(ctx context.Context, db *sql.DB, c *Cursor, limit int, fn func(download)) (int, error) {
	// A download in progress (state 0) is left for later: it is reported
	// once it stops, with its outcome.
	rows, err := db.QueryContext(ctx, `SELECT d.id, `+chromiumDownloadKey+`, d.target_path, d.received_bytes, d.total_bytes,
			d.state, d.mime_type, d.tab_url, d.site_url,
			COALESCE((SELECT url FROM downloads_url_chains ch WHERE ch.id = d.id ORDER BY ch.chain_index DESC LIMIT 1), '')
		FROM downloads d
		WHERE d.state != 0 AND (`+chromiumDownloadKey+` > ?1 OR (`+chromiumDownloadKey+` = ?1 AND d.id > ?2))
		ORDER BY `+chromiumDownloadKey+`, d.id LIMIT ?3`, c.DownloadKey, c.DownloadID, limit)
	if err != nil {
		return 0, fmt.Errorf("query downloads: %w", err)
	}
	defer func() { _ = rows.Close() }()
	n := 0
	for rows.Next() {
		var d download
		var received, total, state int64
		var tabURL, siteURL string
		if err := rows.Scan(&d.ID, &d.Key, &d.Path, &received, &total, &state, &d.Mime, &tabURL, &siteURL, &d.URL); err != nil {
			return n, fmt.Errorf("read download: %w", err)
		}
		n++
		c.DownloadKey, c.DownloadID = d.Key, d.ID
		d.When = FromChromeTime(d.Key)
		d.State = chromiumDownloadStates[state]
		d.Success = state == 1
		d.Size = received
		if d.Success && total > 0 {
			d.Size = total
		}
		d.PageURL = tabURL
		if d.PageURL == "" {
			d.PageURL = siteURL
		}
		fn(d)
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read downloads: %w", err)
	}
	return n, nil
}

// firefoxReader reads Firefox's places.sqlite: moz_places,
// moz_historyvisits, and the download annotations in moz_annos.
type firefoxReader struct{}

// Firefox's visit types (moz_historyvisits.visit_type), as named in
// nsINavHistoryService.idl.
var firefoxTransitions = map[int64]string{
	1: "link", 2: "typed", 3: "bookmark", 4: "embed", 5: "redirect_permanent",
	6: "redirect_temporary", 7: "download", 8: "framed_link", 9: "reload",
}

// Firefox's download annotations (DownloadHistory.sys.mjs): the saved
// file's URI, set when the download starts, and a JSON summary set when it
// stops.
const (
	firefoxDestinationAnno = "downloads/destinationFileURI"
	firefoxMetaDataAnno    = "downloads/metaData"
)

// firefoxMetaData is the JSON of the downloads/metaData annotation.
type firefoxMetaData struct {
	State    int64 `json:"state"`
	Deleted  bool  `json:"deleted"`
	EndTime  int64 `json:"endTime"` // milliseconds since 1970
	FileSize int64 `json:"fileSize"`
}

// Firefox's download states (DownloadHistory's METADATA_STATE_*).
var firefoxDownloadStates = map[int64]string{1: "complete", 2: "failed", 3: "cancelled", 6: "blocked", 8: "blocked"}

func (firefoxReader) Start(ctx context.Context, db *sql.DB, since time.Time) (Cursor, error) {
	c := Cursor{VisitTime: ToFirefoxTime(since), DownloadKey: ToFirefoxTime(since)}
	err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM moz_historyvisits WHERE visit_date <= ?`, c.VisitTime).Scan(&c.VisitID)
	if err != nil {
		return c, fmt.Errorf("find the first visit after %v: %w", since, err)
	}
	return c, nil
}

func (firefoxReader) Visits(ctx context.Context, db *sql.DB, c *Cursor, limit int, fn func(visit)) (int, error) {
	q := `SELECT v.id, COALESCE(v.visit_date, 0), COALESCE(v.visit_type, 0), COALESCE(p.url, ''), COALESCE(p.title, '')
		FROM moz_historyvisits v JOIN moz_places p ON p.id = v.place_id
		WHERE v.id > ?1 OR v.visit_date > ?2
		ORDER BY v.id LIMIT ?3`
	return readVisits(ctx, db, q, c, limit, fn, func(v *visit, typ int64) {
		v.When, v.Transition = FromFirefoxTime(v.Raw), firefoxTransitions[typ]
	})
}

func (firefoxReader) Downloads(ctx context.Context, db *sql.DB, c *Cursor, limit int, fn func(download)) (int, error) {
	rows, err := db.QueryContext(ctx, `SELECT a.id, COALESCE(a.lastModified, 0), COALESCE(a.content, ''), COALESCE(p.url, ''), COALESCE(d.content, '')
		FROM moz_annos a
		JOIN moz_anno_attributes n ON n.id = a.anno_attribute_id AND n.name = ?4
		JOIN moz_places p ON p.id = a.place_id
		LEFT JOIN moz_annos d ON d.place_id = a.place_id
			AND d.anno_attribute_id = (SELECT id FROM moz_anno_attributes WHERE name = ?5)
		WHERE a.lastModified > ?1 OR (a.lastModified = ?1 AND a.id > ?2)
		ORDER BY a.lastModified, a.id LIMIT ?3`,
		c.DownloadKey, c.DownloadID, limit, firefoxMetaDataAnno, firefoxDestinationAnno)
	if err != nil {
		return 0, fmt.Errorf("query downloads: %w", err)
	}
	defer func() { _ = rows.Close() }()
	n := 0
	for rows.Next() {
		var d download
		var meta, dest string
		if err := rows.Scan(&d.ID, &d.Key, &meta, &d.URL, &dest); err != nil {
			return n, fmt.Errorf("read download: %w", err)
		}
		n++
		c.DownloadKey, c.DownloadID = d.Key, d.ID
		var md firefoxMetaData
		if err := json.Unmarshal([]byte(meta), &md); err != nil {
			continue // not written by a Firefox we know
		}
		state, finished := firefoxDownloadStates[md.State]
		if !finished || md.Deleted {
			// Still running or paused (reported when it stops), or the
			// user deleted the file of an earlier download.
			continue
		}
		d.State, d.Success = state, md.State == 1
		d.Size = md.FileSize
		d.When = FromFirefoxTime(d.Key)
		if md.EndTime > 0 {
			d.When = time.UnixMilli(md.EndTime).UTC()
		}
		d.Path = FileURIPath(dest)
		fn(d)
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read downloads: %w", err)
	}
	return n, nil
}

// FileURIPath returns the local path of a file: URI ("" when uri is not
// one). A URI with a drive letter (file:///C:/Users/...) gives a Windows
// path with backslashes.
func FileURIPath(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || !strings.EqualFold(u.Scheme, "file") {
		return ""
	}
	p := u.Path
	if len(p) >= 3 && p[0] == '/' && p[2] == ':' && isLetter(p[1]) {
		return strings.ReplaceAll(p[1:], "/", `\`)
	}
	if u.Host != "" && u.Host != "localhost" { // a UNC path: file://server/share/x
		return `\\` + u.Host + strings.ReplaceAll(p, "/", `\`)
	}
	return p
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// hasColumn reports whether table has the named column.
func hasColumn(ctx context.Context, db *sql.DB, table, column string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, table, column).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read the columns of %s: %w", table, err)
	}
	return n > 0, nil
}
