package browser

import (
	"math"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCleanURL(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("é", 3000)
	tests := []struct {
		raw       string
		keepQuery bool
		want      string
		host      string
	}{
		{raw: "https://www.dropbox.com/s/abc/q3.xlsx?dl=0", want: "https://www.dropbox.com/s/abc/q3.xlsx", host: "www.dropbox.com"},
		{raw: "https://www.dropbox.com/s/abc/q3.xlsx?dl=0", keepQuery: true, want: "https://www.dropbox.com/s/abc/q3.xlsx?dl=0", host: "www.dropbox.com"},
		{raw: "https://user:pa55@Mail.Example.COM.:8443/x#access_token=abc", keepQuery: true, want: "https://mail.example.com.:8443/x", host: "mail.example.com"},
		{raw: "http://example.com/a%20b/?", want: "http://example.com/a%20b/", host: "example.com"},
		{raw: "  https://example.com  ", want: "https://example.com", host: "example.com"},
		{raw: "https://[2001:db8::1]:443/x?y", want: "https://[2001:db8::1]:443/x", host: "2001:db8::1"},
		{raw: "https://bücher.example/straße", want: "https://b%C3%BCcher.example/stra%C3%9Fe", host: "bücher.example"},
		{raw: "data:text/plain;base64,c2VjcmV0", want: "data:text/plain", host: ""},
		{raw: "DATA:,hello", want: "data:", host: ""},
		{raw: "data:te?xt/x,y", want: "data:", host: ""},
		{raw: "blob:https://drive.google.com/0f3c-11?x=1#y", want: "blob:https://drive.google.com/0f3c-11", host: "drive.google.com"},
		{raw: "blob:nonsense", want: "", host: ""},
		{raw: "BloB:A: #", want: "blob:a:", host: ""}, // an opaque part ending in a space
		{raw: "file:///home/jdoe/q3.pdf?x", want: "file:///home/jdoe/q3.pdf", host: ""},
		{raw: "mailto:boss@example.com?subject=secret", want: "mailto:boss@example.com", host: ""},
		{raw: "about:blank", want: "about:blank", host: ""},
		{raw: "no scheme/at/all", want: "", host: ""},
		{raw: "https://exa mple.com/", want: "", host: ""},
		{raw: "http://example.com/\x7f", want: "", host: ""},
		{raw: "", want: "", host: ""},
		{raw: long, want: long[:maxURLBytes], host: "example.com"},
	}
	for _, tt := range tests {
		got, host := CleanURL(tt.raw, tt.keepQuery)
		if tt.raw == long {
			require.LessOrEqual(t, len(got), maxURLBytes)
			require.True(t, strings.HasPrefix(got, "https://example.com/%C3%A9"))
			require.Equal(t, tt.host, host)
			continue
		}
		require.Equal(t, tt.want, got, "CleanURL(%q, %v)", tt.raw, tt.keepQuery)
		require.Equal(t, tt.host, host, "host of %q", tt.raw)
	}
}

func TestTimeConversions(t *testing.T) {
	// Chromium 156 wrote 13440331856548774 for a visit at 09:30:56.548774
	// UTC on 2026-11-28.
	want := time.Date(2026, 11, 28, 9, 30, 56, 548774000, time.UTC)
	require.Equal(t, want, FromChromeTime(13440331856548774))
	require.Equal(t, int64(13440331856548774), ToChromeTime(want))
	require.Equal(t, time.Date(1601, 1, 1, 0, 0, 0, 1000, time.UTC), FromChromeTime(1))
	require.Equal(t, want, FromFirefoxTime(1795858256548774))
	require.Equal(t, int64(1795858256548774), ToFirefoxTime(want))

	for _, v := range []int64{0, -1, math.MinInt64} {
		require.True(t, FromChromeTime(v).IsZero())
		require.True(t, FromFirefoxTime(v).IsZero())
	}
	require.Zero(t, ToChromeTime(time.Time{}))
	require.Zero(t, ToFirefoxTime(time.Time{}))
	require.Zero(t, ToChromeTime(time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)))
	require.Zero(t, ToFirefoxTime(time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)))
	far := time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)
	require.Equal(t, int64(math.MaxInt64), ToChromeTime(far))
	require.Equal(t, int64(math.MaxInt64), ToFirefoxTime(far))
	require.Equal(t, int64(math.MaxInt64), ToChromeTime(FromChromeTime(math.MaxInt64)))
}

func TestFileURIPath(t *testing.T) {
	tests := map[string]string{
		"file:///home/jdoe/Downloads/report%20final.pdf": "/home/jdoe/Downloads/report final.pdf",
		"file:///C:/Users/jdoe/Downloads/q3%20(1).xlsx":  `C:\Users\jdoe\Downloads\q3 (1).xlsx`,
		"file://fileserver/share/q3.xlsx":                `\\fileserver\share\q3.xlsx`,
		"file://localhost/tmp/x":                         "/tmp/x",
		"https://example.com/x":                          "",
		"not a uri %":                                    "",
		"":                                               "",
	}
	for in, want := range tests {
		require.Equal(t, want, FileURIPath(in), in)
	}
}

func TestDiscoverProfiles(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "home", "jo")
	touch := func(rel string) string {
		p := filepath.Join(home, filepath.FromSlash(rel))
		require.NoError(t, mkfile(p))
		return p
	}
	ff := touch(".mozilla/firefox/k2x8.default-release/places.sqlite")
	snap := touch("snap/firefox/common/.mozilla/firefox/z9.default/places.sqlite")
	chrome := touch(".config/google-chrome/Default/History")
	chrome2 := touch(".config/google-chrome/Profile 2/History")
	edge := touch(".config/microsoft-edge/Default/History")
	touch(".config/google-chrome/Default/History-journal")
	touch(".config/chromium/Local State")

	got := discover([]string{filepath.Join(root, "home", "*")}, AllBrowsers, "linux")
	byPath := map[string]database{}
	for _, d := range got {
		byPath[d.Path] = d
	}
	require.Len(t, got, 5)
	require.Equal(t, database{Path: ff, Browser: Firefox, Profile: "k2x8.default-release", Home: home}, byPath[ff])
	require.Equal(t, Firefox, byPath[snap].Browser)
	require.Equal(t, database{Path: chrome2, Browser: Chrome, Profile: "Profile 2", Home: home}, byPath[chrome2])
	require.Equal(t, Chrome, byPath[chrome].Browser)
	require.Equal(t, Edge, byPath[edge].Browser)
	require.Equal(t, familyChromium, byPath[edge].family())

	only := discover([]string{filepath.Join(root, "home", "*")}, []string{Firefox}, "linux")
	require.Len(t, only, 2)

	// The other systems' places, checked on this one with their layouts.
	mac := filepath.Join(root, "Users", "kim")
	require.NoError(t, mkfile(filepath.Join(mac, "Library", "Application Support", "Google", "Chrome", "Default", "History")))
	require.NoError(t, mkfile(filepath.Join(mac, "Library", "Application Support", "Firefox", "Profiles", "a.default", "places.sqlite")))
	require.Len(t, discover([]string{filepath.Join(root, "Users", "*")}, AllBrowsers, "darwin"), 2)
	win := filepath.Join(root, "Win", "lee")
	require.NoError(t, mkfile(filepath.Join(win, "AppData", "Local", "Microsoft", "Edge", "User Data", "Default", "History")))
	require.NoError(t, mkfile(filepath.Join(win, "AppData", "Roaming", "Mozilla", "Firefox", "Profiles", "b.default", "places.sqlite")))
	require.Len(t, discover([]string{filepath.Join(root, "Win", "*")}, AllBrowsers, "windows"), 2)
}

func TestProcessNames(t *testing.T) {
	require.Equal(t, "msedge", processName(Edge, "linux"))
	require.Equal(t, "chromium", processName(Chromium, "linux"))
	require.Equal(t, "msedge.exe", processName(Edge, "windows"))
	require.Equal(t, "chrome.exe", processName(Chromium, "windows"))
	require.Equal(t, "Brave Browser", processName(Brave, "darwin"))
	require.Equal(t, "firefox", processName(Firefox, runtime.GOOS))
}

func TestSQLiteURI(t *testing.T) {
	require.Equal(t, "file:///tmp/a%25b%3fc%23d/history.sqlite?mode=ro", sqliteURI("/tmp/a%b?c#d/history.sqlite", false))
	require.Equal(t, "file:///tmp/h?mode=rw", sqliteURI("/tmp/h", true))
}

// FuzzCleanURL checks that no query, fragment or credential survives
// cleaning, that the result is bounded and parses, and that cleaning is
// stable.
func FuzzCleanURL(f *testing.F) {
	for _, s := range []string{
		"https://user:pw@www.dropbox.com/s/x?dl=0#frag", "data:text/html;base64,PGI+", "blob:https://a.example/x?y#z",
		"mailto:a@b?subject=x", "file:///C:/x%20y", "http://[::1]:80/?", "javascript:alert(1)//?x", "https://a/%zz",
		"blob:blob:https://a/b?c", "BloB:A: #", "https://a.example/" + strings.Repeat("é", 2100),
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, keepQuery bool) {
		clean, host := CleanURL(raw, keepQuery)
		if clean == "" {
			require.Empty(t, host)
			return
		}
		require.LessOrEqual(t, len(clean), maxURLBytes)
		require.NotContains(t, clean, "#")
		if !keepQuery {
			require.NotContains(t, clean, "?")
		}
		inner := strings.TrimPrefix(clean, "blob:")
		if u, err := url.Parse(inner); err == nil && len(clean) < maxURLBytes {
			require.Nil(t, u.User, "credentials left in %q", clean)
		}
		if len(clean) < maxURLBytes-16 {
			again, againHost := CleanURL(clean, keepQuery)
			require.Equal(t, clean, again, "cleaning %q is not stable", raw)
			require.Equal(t, host, againHost)
		}
	})
}

// FuzzTimeConversions checks that both browsers' timestamps survive a
// round trip and never overflow.
func FuzzTimeConversions(f *testing.F) {
	for _, v := range []int64{0, 1, -1, 13440331856548774, 1795858256548774, math.MaxInt64, math.MinInt64, 11644473600000000} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v int64) {
		ct := FromChromeTime(v)
		ft := FromFirefoxTime(v)
		if v <= 0 {
			require.True(t, ct.IsZero())
			require.True(t, ft.IsZero())
			require.Zero(t, ToChromeTime(ct))
			require.Zero(t, ToFirefoxTime(ft))
			return
		}
		require.Equal(t, v, ToChromeTime(ct))
		require.Equal(t, v, ToFirefoxTime(ft))
		// The same count means a time 369 years later from Firefox's epoch.
		require.Equal(t, ct.Unix()+chromeEpochOffset, ft.Unix())
		require.Equal(t, ct.Nanosecond(), ft.Nanosecond())
	})
}

// FuzzFileURIPath checks that any annotation content gives a path without
// panicking, and that a plain path round-trips through a file: URI.
func FuzzFileURIPath(f *testing.F) {
	f.Add("file:///home/a/b%20c.pdf")
	f.Add("file:///C:/x/y")
	f.Add("file://srv/share/x")
	f.Fuzz(func(t *testing.T, s string) {
		_ = FileURIPath(s) // must not panic on any annotation content
		if strings.HasPrefix(s, "/") && !strings.Contains(s, "\x00") && !strings.HasPrefix(s, "//") {
			uri := (&url.URL{Scheme: "file", Path: s}).String()
			if got := FileURIPath(uri); !(len(s) >= 3 && s[2] == ':') {
				require.Equal(t, s, got, "round trip of %q through %q", s, uri)
			}
		}
	})
}
