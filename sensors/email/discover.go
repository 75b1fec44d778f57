package email

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// sentNames are the names mail clients give the Sent folder.
var sentNames = map[string]bool{
	"sent": true, "sent messages": true, "sent items": true, "sent mail": true, ".sent": true,
}

// thunderbirdRoots are the profile directories of Thunderbird below a home,
// per packaging (distribution, snap, flatpak, macOS, Windows).
var thunderbirdRoots = []string{
	".thunderbird",
	".mozilla-thunderbird",
	"snap/thunderbird/common/.thunderbird",
	".var/app/org.mozilla.Thunderbird/.thunderbird",
	"Library/Thunderbird/Profiles",
	"AppData/Roaming/Thunderbird/Profiles",
}

// evolutionLocal is Evolution's local Maildir++ store below a home.
const evolutionLocal = ".local/share/evolution/mail/local"

// Discover returns the Sent folders of the mail clients found in the
// homes matching the patterns, sorted by path.
func Discover(homes []string) []Folder {
	seen := map[string]bool{}
	var out []Folder
	add := func(f Folder) {
		if !seen[f.Path] {
			seen[f.Path] = true
			out = append(out, f)
		}
	}
	for _, pattern := range homes {
		matches, _ := filepath.Glob(pattern)
		for _, home := range matches {
			for _, root := range thunderbirdRoots {
				profiles, _ := filepath.Glob(filepath.Join(home, filepath.FromSlash(root), "*"))
				for _, p := range profiles {
					for _, store := range []string{"Mail", "ImapMail"} {
						findSent(filepath.Join(p, store), 0, "thunderbird", add)
					}
				}
			}
			ev := filepath.Join(home, filepath.FromSlash(evolutionLocal), ".Sent")
			if isMaildir(ev) {
				add(Folder{Path: ev, Format: FormatMaildir, Client: "evolution"})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// findSent walks a Thunderbird mail store (accounts, then sub-folder
// ".sbd" directories) for Sent folders.
func findSent(dir string, depth int, client string, add func(Folder)) {
	if depth > 4 {
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		name := strings.ToLower(e.Name())
		switch {
		case sentNames[name] && e.Type().IsRegular():
			add(Folder{Path: p, Format: FormatMbox, Client: client})
		case sentNames[name] && e.IsDir() && isMaildir(p):
			add(Folder{Path: p, Format: FormatMaildir, Client: client})
		case e.IsDir() && (depth == 0 || strings.HasSuffix(name, ".sbd")):
			findSent(p, depth+1, client, add)
		}
	}
}

func isMaildir(p string) bool {
	for _, sub := range []string{"cur", "new"} {
		if fi, err := os.Stat(filepath.Join(p, sub)); err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

// formatOf decides a folder's format from the path when it is not set.
func formatOf(f Folder) string {
	if f.Format != "" {
		return f.Format
	}
	if isMaildir(f.Path) {
		return FormatMaildir
	}
	return FormatMbox
}
