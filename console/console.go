// Package console owns Vigil's web console: the single-page application in
// web/ (plain ES modules, hand-written CSS and inline SVG, no build step and
// nothing fetched from outside the server), embedded in the binary, and the
// http.Handler that serves it under /console/ with its content types,
// caching headers and Content-Security-Policy.
//
// The console talks to the server only through the public REST API under
// /api/v1, with the bearer token the person signs in with. This package
// must not import api, store, engine or any other part of the server: the
// command mounts Handler next to the API's handler.
package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
)

// Prefix is the path the console is served under; Handler expects requests
// for it and below, unmodified (no http.StripPrefix).
const Prefix = "/console/"

// ContentSecurityPolicy is sent with every answer of the console. The page
// may load its own scripts, styles and images, show frames fetched as
// blobs, and call the API on its own origin; nothing else, and it may not
// be framed.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' blob: data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

//go:embed web
var webFS embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	gzipped     []byte // nil when compression does not pay
	contentType string
	etag        string
}

// contentTypes maps the extensions used in web/ to their media types. A
// file with another extension is not served: the set is closed so that a
// stray file never goes out with a sniffed type.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
}

// minGzipBytes is the size below which an asset is sent uncompressed.
const minGzipBytes = 1024

var (
	loadOnce sync.Once
	assets   map[string]*asset
	errLoad  error
)

// loadAssets reads every embedded file once.
func loadAssets() (map[string]*asset, error) {
	loadOnce.Do(func() {
		assets, errLoad = readAssets(webFS, "web")
	})
	return assets, errLoad
}

// readAssets reads the files under root of fsys, keyed by their path below
// root ("index.html", "js/main.js").
func readAssets(fsys fs.FS, root string) (map[string]*asset, error) {
	out := map[string]*asset{}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return fmt.Errorf("console asset %s: no content type for extension %q", p, path.Ext(p))
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read console asset %s: %w", p, err)
		}
		sum := sha256.Sum256(body)
		a := &asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		if len(body) >= minGzipBytes && !strings.HasPrefix(ct, "image/png") {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			if _, err := zw.Write(body); err != nil {
				return fmt.Errorf("compress console asset %s: %w", p, err)
			}
			if err := zw.Close(); err != nil {
				return fmt.Errorf("compress console asset %s: %w", p, err)
			}
			if buf.Len() < len(body) {
				a.gzipped = buf.Bytes()
			}
		}
		out[strings.TrimPrefix(p, root+"/")] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Handler serves the console: GET or HEAD /console/ answers the page, and
// /console/<file> the page's scripts, styles and images. /console (without
// the slash) redirects to /console/. Every answer carries
// ContentSecurityPolicy and the other hardening headers; files are
// revalidated on every use (Cache-Control: no-cache with a strong ETag), so
// an upgraded binary's console is picked up at once while unchanged files
// cost a 304. Files are sent gzip-compressed to clients that accept it.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), usb=()")

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == strings.TrimSuffix(Prefix, "/") {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	}
	rest, ok := strings.CutPrefix(p, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if rest == "" {
		rest = "index.html"
	}
	all, err := loadAssets()
	if err != nil {
		http.Error(w, "console assets unreadable", http.StatusInternalServerError)
		return
	}
	a, ok := all[rest]
	if !ok || path.Clean(rest) != rest {
		http.NotFound(w, r)
		return
	}
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("Vary", "Accept-Encoding")
	if etagMatches(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gzipped != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = a.gzipped
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

// etagMatches reports whether an If-None-Match header names etag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
