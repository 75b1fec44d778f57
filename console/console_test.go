package console_test

import (
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-itm/vigil/console"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func get(t testing.TB, h http.Handler, method, path string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerServesAssets(t *testing.T) {
	h := console.Handler()
	for _, tc := range []struct {
		path, contentType, contains string
	}{
		{"/console/", "text/html; charset=utf-8", `<script type="module" src="js/main.js">`},
		{"/console/index.html", "text/html; charset=utf-8", "<title>Vigil</title>"},
		{"/console/app.css", "text/css; charset=utf-8", ":root"},
		{"/console/js/main.js", "text/javascript; charset=utf-8", "import"},
		{"/console/js/views/player.js", "text/javascript; charset=utf-8", "evidenceSection"},
		{"/console/favicon.svg", "image/svg+xml", "<svg"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec := get(t, h, http.MethodGet, tc.path)
			require.Equal(t, http.StatusOK, rec.Code)
			require.Equal(t, tc.contentType, rec.Header().Get("Content-Type"))
			require.Equal(t, console.ContentSecurityPolicy, rec.Header().Get("Content-Security-Policy"))
			require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
			require.Equal(t, "DENY", rec.Header().Get("X-Frame-Options"))
			require.Equal(t, "no-referrer", rec.Header().Get("Referrer-Policy"))
			require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"))
			require.Regexp(t, `^"[0-9a-f]{32}"$`, rec.Header().Get("ETag"))
			require.Empty(t, rec.Header().Get("Content-Encoding"), "no gzip unless asked")
			require.Contains(t, rec.Body.String(), tc.contains)
		})
	}
}

func TestHandlerRevalidationAndCompression(t *testing.T) {
	h := console.Handler()
	first := get(t, h, http.MethodGet, "/console/js/views/alerts.js")
	require.Equal(t, http.StatusOK, first.Code)
	etag := first.Header().Get("ETag")

	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		rec := get(t, h, http.MethodGet, "/console/js/views/alerts.js", "If-None-Match", inm)
		require.Equal(t, http.StatusNotModified, rec.Code, "If-None-Match: %s", inm)
		require.Empty(t, rec.Body.Bytes())
	}
	require.Equal(t, http.StatusOK, get(t, h, http.MethodGet, "/console/js/views/alerts.js", "If-None-Match", `"stale"`).Code)

	gz := get(t, h, http.MethodGet, "/console/js/views/alerts.js", "Accept-Encoding", "br, gzip;q=0.8")
	require.Equal(t, http.StatusOK, gz.Code)
	require.Equal(t, "gzip", gz.Header().Get("Content-Encoding"))
	require.Equal(t, "Accept-Encoding", gz.Header().Get("Vary"))
	zr, err := gzip.NewReader(gz.Body)
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Equal(t, first.Body.String(), string(plain))
	require.Less(t, gz.Body.Len(), len(plain))

	require.Empty(t, get(t, h, http.MethodGet, "/console/js/views/alerts.js", "Accept-Encoding", "gzip;q=0").Header().Get("Content-Encoding"))

	head := get(t, h, http.MethodHead, "/console/app.css")
	require.Equal(t, http.StatusOK, head.Code)
	require.Empty(t, head.Body.Bytes())
	require.NotEmpty(t, head.Header().Get("Content-Length"))
}

func TestHandlerRefuses(t *testing.T) {
	h := console.Handler()
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/console/nope.js", http.StatusNotFound},
		{http.MethodGet, "/console/js/", http.StatusNotFound},
		{http.MethodGet, "/console/../console.go", http.StatusNotFound},
		{http.MethodGet, "/console/js/../index.html", http.StatusNotFound},
		{http.MethodGet, "/console//index.html", http.StatusNotFound},
		{http.MethodGet, "/elsewhere", http.StatusNotFound},
		{http.MethodPost, "/console/", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/console/app.css", http.StatusMethodNotAllowed},
		{http.MethodGet, "/console", http.StatusMovedPermanently},
	} {
		rec := get(t, h, tc.method, tc.path)
		require.Equal(t, tc.status, rec.Code, "%s %s", tc.method, tc.path)
		require.Equal(t, console.ContentSecurityPolicy, rec.Header().Get("Content-Security-Policy"), "%s %s", tc.method, tc.path)
	}
	require.Equal(t, "/console/", get(t, h, http.MethodGet, "/console").Header().Get("Location"))
	require.Equal(t, "GET, HEAD", get(t, h, http.MethodPut, "/console/").Header().Get("Allow"))
}

// The console must make no request outside its own server: no URL to
// another origin in any asset, no inline script or style (which the CSP
// would block anyway), no protocol-relative or @import of remote styles.
func TestAssetsAreSelfContained(t *testing.T) {
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}(/|["'\s)])`)
	// The SVG namespace is an identifier, not a request.
	allowed := regexp.MustCompile(`http://www\.w3\.org/2000/svg`)
	n := 0
	err := filepath.WalkDir("web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		text := allowed.ReplaceAllString(string(data), "")
		for _, m := range external.FindAllString(text, -1) {
			// Comments in JavaScript start with //, not followed by a host.
			if strings.HasPrefix(m, "//") && !strings.Contains(m, ".") {
				continue
			}
			t.Errorf("%s: reference to another origin: %q", p, m)
		}
		if strings.HasSuffix(p, ".html") {
			require.NotRegexp(t, `<script(?:[^>]*)>\s*[^<\s]`, text, "%s: inline script", p)
			require.NotContains(t, text, "<style", "%s: inline style", p)
			require.NotContains(t, text, " style=", "%s: style attribute", p)
		}
		if strings.HasSuffix(p, ".js") {
			require.NotContains(t, text, "innerHTML", "%s: text goes in as text", p)
			require.NotContains(t, text, "eval(", p)
			require.NotContains(t, text, "setAttribute('style'", "%s: style attributes are blocked by the CSP", p)
		}
		if strings.HasSuffix(p, ".css") {
			require.NotContains(t, text, "@import", p)
			require.NotContains(t, text, "url(", "%s: no fonts or images fetched from CSS", p)
		}
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, n, 10)
}

func FuzzHandlerPath(f *testing.F) {
	for _, s := range []string{"/console/", "/console/js/main.js", "/console/../go.mod", "/console/%2e%2e/x", "/console/js//main.js", "/x"} {
		f.Add(s)
	}
	h := console.Handler()
	f.Fuzz(func(t *testing.T, p string) {
		req, err := http.NewRequest(http.MethodGet, "http://vigil.test/", nil)
		if err != nil {
			t.Skip()
		}
		req.URL.Path = p
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			// Only clean paths under the prefix serve a file.
			rest, ok := strings.CutPrefix(p, console.Prefix)
			if !ok || strings.Contains(rest, "..") || strings.Contains(rest, "//") {
				t.Fatalf("served %q", p)
			}
		case http.StatusNotFound, http.StatusMovedPermanently:
		default:
			t.Fatalf("%q: status %d", p, rec.Code)
		}
		if rec.Header().Get("Content-Security-Policy") != console.ContentSecurityPolicy {
			t.Fatalf("%q: no CSP", p)
		}
	})
}

func BenchmarkHandler(b *testing.B) {
	h := console.Handler()
	for _, tc := range []struct{ name, path, enc string }{
		{"asset=player.js/gzip", "/console/js/views/player.js", "gzip"},
		{"asset=player.js/plain", "/console/js/views/player.js", ""},
		{"asset=index/not-modified", "/console/", ""},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.enc != "" {
				req.Header.Set("Accept-Encoding", tc.enc)
			}
			if strings.HasSuffix(tc.name, "not-modified") {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK && rec.Code != http.StatusNotModified {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}
