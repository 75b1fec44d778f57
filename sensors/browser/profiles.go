package browser

import (
	"path/filepath"
	"slices"
	"strings"
)

// Database families: the schema a history database has.
const (
	familyFirefox  = "firefox"
	familyChromium = "chromium"
)

// database is one browser profile's history database.
type database struct {
	// Path is the database file.
	Path string
	// Browser is one of the browser names (Firefox, Chrome...).
	Browser string
	// Profile is the profile directory's name, such as "Default".
	Profile string
	// Home is the home directory the profile was found in.
	Home string
}

// family returns the schema family of the database.
func (d database) family() string {
	if d.Browser == Firefox {
		return familyFirefox
	}
	return familyChromium
}

// profileGlobs returns, per browser, the glob patterns (relative to a home,
// slash-separated) of its history databases on goos. Chromium-family
// browsers keep one History per profile directory ("Default",
// "Profile 1"...) below their user data directory; Firefox one
// places.sqlite per profile directory.
func profileGlobs(goos string) map[string][]string {
	switch goos {
	case "windows":
		return map[string][]string{
			Firefox:  {"AppData/Roaming/Mozilla/Firefox/Profiles/*/places.sqlite"},
			Chrome:   {"AppData/Local/Google/Chrome/User Data/*/History"},
			Chromium: {"AppData/Local/Chromium/User Data/*/History"},
			Edge:     {"AppData/Local/Microsoft/Edge/User Data/*/History"},
			Brave:    {"AppData/Local/BraveSoftware/Brave-Browser/User Data/*/History"},
		}
	case "darwin":
		return map[string][]string{
			Firefox:  {"Library/Application Support/Firefox/Profiles/*/places.sqlite"},
			Chrome:   {"Library/Application Support/Google/Chrome/*/History"},
			Chromium: {"Library/Application Support/Chromium/*/History"},
			Edge:     {"Library/Application Support/Microsoft Edge/*/History"},
			Brave:    {"Library/Application Support/BraveSoftware/Brave-Browser/*/History"},
		}
	default: // Linux and the other Unixes: XDG places, snap and flatpak.
		return map[string][]string{
			Firefox: {
				".mozilla/firefox/*/places.sqlite",
				"snap/firefox/common/.mozilla/firefox/*/places.sqlite",
				".var/app/org.mozilla.firefox/.mozilla/firefox/*/places.sqlite",
			},
			Chrome: {
				".config/google-chrome/*/History",
				".config/google-chrome-beta/*/History",
				".config/google-chrome-unstable/*/History",
				".var/app/com.google.Chrome/config/google-chrome/*/History",
			},
			Chromium: {
				".config/chromium/*/History",
				"snap/chromium/common/chromium/*/History",
				".var/app/org.chromium.Chromium/config/chromium/*/History",
			},
			Edge: {
				".config/microsoft-edge/*/History",
				".config/microsoft-edge-beta/*/History",
				".config/microsoft-edge-dev/*/History",
				".var/app/com.microsoft.Edge/config/microsoft-edge/*/History",
			},
			Brave: {
				".config/BraveSoftware/Brave-Browser/*/History",
				"snap/brave/current/.config/BraveSoftware/Brave-Browser/*/History",
				".var/app/com.brave.Browser/config/BraveSoftware/Brave-Browser/*/History",
			},
		}
	}
}

// processName returns the executable name of browser on goos, reported as
// process.name.
func processName(browser, goos string) string {
	switch goos {
	case "windows":
		switch browser {
		case Firefox:
			return "firefox.exe"
		case Edge:
			return "msedge.exe"
		case Brave:
			return "brave.exe"
		default:
			return "chrome.exe" // Chrome and Chromium
		}
	case "darwin":
		return map[string]string{
			Firefox: "firefox", Chrome: "Google Chrome", Chromium: "Chromium",
			Edge: "Microsoft Edge", Brave: "Brave Browser",
		}[browser]
	default:
		if browser == Edge {
			return "msedge"
		}
		return browser
	}
}

// discover returns the history databases of the browsers found in the homes
// matching the patterns, sorted by path.
func discover(homes, browsers []string, goos string) []database {
	globs := profileGlobs(goos)
	seen := map[string]bool{}
	var out []database
	for _, hp := range homes {
		matches, _ := filepath.Glob(hp) // the patterns were validated
		for _, home := range matches {
			for _, b := range browsers {
				for _, g := range globs[b] {
					dbs, _ := filepath.Glob(filepath.Join(escapeGlob(home), filepath.FromSlash(g)))
					for _, p := range dbs {
						if seen[p] {
							continue
						}
						seen[p] = true
						out = append(out, database{Path: p, Browser: b, Profile: filepath.Base(filepath.Dir(p)), Home: home})
					}
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b database) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// escapeGlob quotes the glob metacharacters of a literal path. Windows has
// no escape character in filepath.Match, and its paths rarely hold them.
func escapeGlob(p string) string {
	if filepath.Separator == '\\' {
		return p
	}
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
