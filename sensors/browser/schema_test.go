package browser

import (
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// chromiumSchema is the part of a Chromium History database the sensor
// reads, as Chromium 156 creates it (meta version 70): the tables' columns
// in their order, and the visits indexes.
const chromiumSchema = `
CREATE TABLE meta(key LONGVARCHAR NOT NULL UNIQUE PRIMARY KEY, value LONGVARCHAR);
INSERT INTO meta VALUES ('version', '70'), ('last_compatible_version', '16');
CREATE TABLE urls(id INTEGER PRIMARY KEY AUTOINCREMENT,url LONGVARCHAR,title LONGVARCHAR,visit_count INTEGER DEFAULT 0 NOT NULL,typed_count INTEGER DEFAULT 0 NOT NULL,last_visit_time INTEGER NOT NULL,hidden INTEGER DEFAULT 0 NOT NULL);
CREATE INDEX urls_url_index ON urls (url);
CREATE TABLE visits(id INTEGER PRIMARY KEY AUTOINCREMENT,url INTEGER NOT NULL,visit_time INTEGER NOT NULL,from_visit INTEGER,external_referrer_url TEXT,transition INTEGER DEFAULT 0 NOT NULL,segment_id INTEGER,visit_duration INTEGER DEFAULT 0 NOT NULL,incremented_omnibox_typed_score BOOLEAN DEFAULT FALSE NOT NULL,opener_visit INTEGER,originator_cache_guid TEXT,originator_visit_id INTEGER,originator_from_visit INTEGER,originator_opener_visit INTEGER,is_known_to_sync BOOLEAN DEFAULT FALSE NOT NULL,consider_for_ntp_most_visited BOOLEAN DEFAULT FALSE NOT NULL,visited_link_id INTEGER DEFAULT 0 NOT NULL,app_id TEXT);
CREATE INDEX visits_url_index ON visits (url);
CREATE INDEX visits_from_index ON visits (from_visit);
CREATE INDEX visits_time_index ON visits (visit_time);
CREATE TABLE downloads (id INTEGER PRIMARY KEY,guid VARCHAR NOT NULL,current_path LONGVARCHAR NOT NULL,target_path LONGVARCHAR NOT NULL,start_time INTEGER NOT NULL,received_bytes INTEGER NOT NULL,total_bytes INTEGER NOT NULL,state INTEGER NOT NULL,danger_type INTEGER NOT NULL,interrupt_reason INTEGER NOT NULL,hash BLOB NOT NULL,end_time INTEGER NOT NULL,opened INTEGER NOT NULL,last_access_time INTEGER NOT NULL,transient INTEGER NOT NULL,referrer VARCHAR NOT NULL,site_url VARCHAR NOT NULL,embedder_download_data VARCHAR NOT NULL,tab_url VARCHAR NOT NULL,tab_referrer_url VARCHAR NOT NULL,http_method VARCHAR NOT NULL,by_ext_id VARCHAR NOT NULL,by_ext_name VARCHAR NOT NULL,by_web_app_id VARCHAR NOT NULL,etag VARCHAR NOT NULL,last_modified VARCHAR NOT NULL,mime_type VARCHAR(255) NOT NULL,original_mime_type VARCHAR(255) NOT NULL);
CREATE TABLE downloads_url_chains (id INTEGER NOT NULL,chain_index INTEGER NOT NULL,url LONGVARCHAR NOT NULL, PRIMARY KEY (id, chain_index) );
`

// firefoxSchema is the part of places.sqlite the sensor reads, with the
// columns of current Firefox releases.
const firefoxSchema = `
CREATE TABLE moz_origins (id INTEGER PRIMARY KEY, prefix TEXT NOT NULL, host TEXT NOT NULL, frecency INTEGER NOT NULL, recalc_frecency INTEGER NOT NULL DEFAULT 0, alt_frecency INTEGER, recalc_alt_frecency INTEGER NOT NULL DEFAULT 0, UNIQUE (prefix, host));
CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url LONGVARCHAR, title LONGVARCHAR, rev_host LONGVARCHAR, visit_count INTEGER DEFAULT 0, hidden INTEGER DEFAULT 0 NOT NULL, typed INTEGER DEFAULT 0 NOT NULL, frecency INTEGER DEFAULT -1 NOT NULL, last_visit_date INTEGER , guid TEXT, foreign_count INTEGER DEFAULT 0 NOT NULL, url_hash INTEGER DEFAULT 0 NOT NULL , description TEXT, preview_image_url TEXT, site_name TEXT, origin_id INTEGER REFERENCES moz_origins(id), recalc_frecency INTEGER NOT NULL DEFAULT 0, alt_frecency INTEGER, recalc_alt_frecency INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX moz_places_url_hashindex_guid ON moz_places (guid);
CREATE TABLE moz_historyvisits (id INTEGER PRIMARY KEY, from_visit INTEGER, place_id INTEGER, visit_date INTEGER, visit_type INTEGER, session INTEGER, source INTEGER DEFAULT 0 NOT NULL, triggeringPlaceId INTEGER);
CREATE INDEX moz_historyvisits_placedateindex ON moz_historyvisits (place_id, visit_date);
CREATE INDEX moz_historyvisits_dateindex ON moz_historyvisits (visit_date);
CREATE TABLE moz_anno_attributes (id INTEGER PRIMARY KEY, name VARCHAR(32) UNIQUE NOT NULL);
CREATE TABLE moz_annos (id INTEGER PRIMARY KEY, place_id INTEGER NOT NULL, anno_attribute_id INTEGER, content LONGVARCHAR, flags INTEGER DEFAULT 0, expiration INTEGER DEFAULT 0, type INTEGER DEFAULT 0, dateAdded INTEGER DEFAULT 0, lastModified INTEGER DEFAULT 0);
CREATE UNIQUE INDEX moz_annos_placeattributeindex ON moz_annos (place_id, anno_attribute_id);
`

// historyDB is a test's writer of a browser's history database, holding it
// the way the browsers do: an exclusive lock, Firefox in WAL mode without
// automatic checkpoints (so new rows stay in the -wal file).
type historyDB struct {
	t    testing.TB
	db   *sql.DB
	path string
}

func openHistory(t testing.TB, path, schema string, wal bool) *historyDB {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	dsn := "file:" + path + "?_pragma=locking_mode(exclusive)"
	if wal {
		dsn += "&_pragma=journal_mode(wal)&_pragma=wal_autocheckpoint(0)"
	}
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.Exec(schema)
	require.NoError(t, err)
	return &historyDB{t: t, db: db, path: path}
}

func newChromiumHistory(t testing.TB, path string) *historyDB {
	return openHistory(t, path, chromiumSchema, false)
}

func newFirefoxPlaces(t testing.TB, path string) *historyDB {
	h := openHistory(t, path, firefoxSchema, true)
	h.exec(`INSERT INTO moz_anno_attributes (name) VALUES (?), (?)`, firefoxDestinationAnno, firefoxMetaDataAnno)
	return h
}

func (h *historyDB) exec(q string, args ...any) sql.Result {
	h.t.Helper()
	res, err := h.db.Exec(q, args...)
	require.NoError(h.t, err)
	return res
}

func (h *historyDB) id(res sql.Result) int64 {
	h.t.Helper()
	id, err := res.LastInsertId()
	require.NoError(h.t, err)
	return id
}

// chromiumVisit records a visit as Chromium does: the url row, then the
// visit (transition: core type | CHAIN_START | CHAIN_END).
func (h *historyDB) chromiumVisit(u, title string, when time.Time, transition int64) int64 {
	h.t.Helper()
	ts := ToChromeTime(when)
	var urlID int64
	if err := h.db.QueryRow(`SELECT id FROM urls WHERE url = ?`, u).Scan(&urlID); err != nil {
		urlID = h.id(h.exec(`INSERT INTO urls (url, title, visit_count, last_visit_time) VALUES (?, ?, 1, ?)`, u, title, ts))
	}
	return h.id(h.exec(`INSERT INTO visits (url, visit_time, from_visit, transition, segment_id, visit_duration, originator_cache_guid)
		VALUES (?, ?, 0, ?, 0, 0, '')`, urlID, ts, transition|0x30000000))
}

type chromiumDownload struct {
	ID              int64
	Target, URL     string
	TabURL          string
	Start, End      time.Time
	Received, Total int64
	State           int64
	Mime            string
}

// chromiumDownload records a download in one transaction, as Chromium's
// history backend does.
func (h *historyDB) chromiumDownload(d chromiumDownload) {
	h.t.Helper()
	h.exec(`BEGIN`)
	h.exec(`INSERT INTO downloads VALUES (?, 'guid', ?, ?, ?, ?, ?, ?, 0, 0, x'', ?, 0, 0, 0, '', '', '', ?, '', 'GET', '', '', '', '', '', ?, ?)`,
		d.ID, d.Target+".crdownload", d.Target, ToChromeTime(d.Start), d.Received, d.Total, d.State, ToChromeTime(d.End), d.TabURL, d.Mime, d.Mime)
	h.exec(`INSERT INTO downloads_url_chains VALUES (?, 0, ?)`, d.ID, d.URL)
	h.exec(`COMMIT`)
}

// firefoxVisit records a visit as Firefox does.
func (h *historyDB) firefoxVisit(u, title string, when time.Time, visitType int64) int64 {
	h.t.Helper()
	ts := ToFirefoxTime(when)
	var placeID int64
	if err := h.db.QueryRow(`SELECT id FROM moz_places WHERE url = ?`, u).Scan(&placeID); err != nil {
		placeID = h.id(h.exec(`INSERT INTO moz_places (url, title, visit_count, last_visit_date, guid) VALUES (?, ?, 1, ?, hex(randomblob(6)))`, u, title, ts))
	}
	return h.id(h.exec(`INSERT INTO moz_historyvisits (from_visit, place_id, visit_date, visit_type, session) VALUES (0, ?, ?, ?, 0)`, placeID, ts, visitType))
}

// firefoxDownload records a download as DownloadHistory does: a visit of
// type download, the destination annotation when it starts, and the
// metadata annotation (replaced on each change) when it stops.
func (h *historyDB) firefoxDownload(u, dest string, when time.Time, meta string) {
	h.t.Helper()
	h.firefoxVisit(u, "", when, 7)
	var placeID int64
	require.NoError(h.t, h.db.QueryRow(`SELECT id FROM moz_places WHERE url = ?`, u).Scan(&placeID))
	ts := ToFirefoxTime(when)
	h.exec(`INSERT OR REPLACE INTO moz_annos (place_id, anno_attribute_id, content, type, dateAdded, lastModified)
		VALUES (?, (SELECT id FROM moz_anno_attributes WHERE name = ?), ?, 3, ?, ?)`, placeID, firefoxDestinationAnno, dest, ts, ts)
	if meta != "" {
		h.exec(`INSERT OR REPLACE INTO moz_annos (place_id, anno_attribute_id, content, type, dateAdded, lastModified)
			VALUES (?, (SELECT id FROM moz_anno_attributes WHERE name = ?), ?, 3, ?, ?)`, placeID, firefoxMetaDataAnno, meta, ts, ts)
	}
}

// escapePath percent-encodes a path for a file: URI as Firefox does.
func escapePath(p string) string {
	return (&url.URL{Path: filepath.ToSlash(p)}).EscapedPath()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func mkfile(p string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	return os.WriteFile(p, nil, 0o600)
}
