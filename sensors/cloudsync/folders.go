package cloudsync

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Provider names, as destination.cloud_provider reports them.
const (
	ProviderDropbox          = "dropbox"
	ProviderDropboxBusiness  = "dropbox-business"
	ProviderOneDrivePersonal = "onedrive-personal"
	ProviderOneDriveBusiness = "onedrive-business"
	ProviderGoogleDrive      = "google-drive"
	ProviderNextcloud        = "nextcloud"
	ProviderOwnCloud         = "owncloud"
	ProviderMEGA             = "mega"
	ProviderBox              = "box"
	ProviderICloud           = "icloud"
	ProviderPCloud           = "pcloud"
)

// knownFolder is a default sync folder location, a glob below a home.
type knownFolder struct {
	glob     string
	provider string
}

// knownFolders are where the clients put their folder by default, on
// every OS (a location that does not exist costs one failed glob). More
// specific patterns come first: the first match names the provider.
var knownFolders = []knownFolder{
	// macOS File Provider locations.
	{"Library/CloudStorage/Dropbox*", ProviderDropbox},
	{"Library/CloudStorage/OneDrive-Personal", ProviderOneDrivePersonal},
	{"Library/CloudStorage/OneDrive-*", ProviderOneDriveBusiness},
	{"Library/CloudStorage/GoogleDrive-*", ProviderGoogleDrive},
	{"Library/CloudStorage/Box-Box", ProviderBox},
	{"Library/Mobile Documents/com~apple~CloudDocs", ProviderICloud},
	// Home-directory folders (Linux, Windows, older macOS clients).
	{"Dropbox (Personal)", ProviderDropbox},
	{"Dropbox (*)", ProviderDropboxBusiness},
	{"Dropbox", ProviderDropbox},
	{"OneDrive - Personal", ProviderOneDrivePersonal},
	{"OneDrive - *", ProviderOneDriveBusiness},
	{"OneDrive", ProviderOneDrivePersonal},
	{"Google Drive", ProviderGoogleDrive},
	{"GoogleDrive", ProviderGoogleDrive},
	{"My Drive", ProviderGoogleDrive},
	{"Insync/*", ProviderGoogleDrive},
	{"Nextcloud", ProviderNextcloud},
	{"ownCloud", ProviderOwnCloud},
	{"MEGA", ProviderMEGA},
	{"MEGAsync", ProviderMEGA},
	{"Box", ProviderBox},
	{"Box Sync", ProviderBox},
	{"iCloudDrive", ProviderICloud},
	{"iCloud Drive", ProviderICloud},
	{"pCloud Drive", ProviderPCloud},
}

// watched is a sync folder with the home it belongs to.
type watched struct {
	Folder
	home string
}

// DefaultFolders returns the sync folders that exist in the homes matching
// the patterns: known default locations, and the folders that the Dropbox
// (~/.dropbox/info.json), Nextcloud and ownCloud (~/.config/*/…cfg)
// clients' settings name. Sorted by path.
func DefaultFolders(homes []string) []Folder {
	var out []Folder
	for _, w := range defaultFolders(homes) {
		out = append(out, w.Folder)
	}
	return out
}

func defaultFolders(homes []string) []watched {
	seen := map[string]bool{}
	var out []watched
	add := func(home, path, provider string) {
		path = filepath.Clean(path)
		if seen[path] {
			return
		}
		if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
			return
		}
		seen[path] = true
		out = append(out, watched{Folder: Folder{Path: path, Provider: provider}, home: home})
	}
	for _, pattern := range homes {
		matches, _ := filepath.Glob(pattern)
		for _, home := range matches {
			for p, provider := range clientSettingsFolders(home) {
				add(home, p, provider)
			}
			for _, k := range knownFolders {
				found, _ := filepath.Glob(filepath.Join(home, filepath.FromSlash(k.glob)))
				for _, p := range found {
					add(home, p, k.provider)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// clientSettingsFolders reads the folders the clients' own settings name.
func clientSettingsFolders(home string) map[string]string {
	out := map[string]string{}
	if data, err := os.ReadFile(filepath.Join(home, ".dropbox", "info.json")); err == nil {
		var info map[string]struct {
			Path string `json:"path"`
		}
		if json.Unmarshal(data, &info) == nil {
			for kind, v := range info {
				if v.Path == "" {
					continue
				}
				if kind == "business" {
					out[v.Path] = ProviderDropboxBusiness
				} else {
					out[v.Path] = ProviderDropbox
				}
			}
		}
	}
	for _, c := range []struct{ dir, file, provider string }{
		{"Nextcloud", "nextcloud.cfg", ProviderNextcloud},
		{"ownCloud", "owncloud.cfg", ProviderOwnCloud},
	} {
		for _, p := range qtLocalPaths(filepath.Join(home, ".config", c.dir, c.file)) {
			out[p] = c.provider
		}
	}
	return out
}

// qtLocalPaths reads the "…\localPath=" values of a Nextcloud/ownCloud
// client settings file (Qt INI format).
func qtLocalPaths(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer func() { _ = f.Close() }()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && strings.HasSuffix(strings.TrimSpace(k), `\localPath`) && strings.TrimSpace(v) != "" {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}
