package cloudsync

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigil-itm/vigil/sensors"
)

// Diagnosis is one finding of Diagnose: something the sensor needs, and
// whether this machine has it.
type Diagnosis = sensors.Diagnosis

// Diagnose checks the local machine for what the cloud-sync sensor needs:
// sync folders to watch, and enough inotify watches for their directories.
func Diagnose(cfg Config) []Diagnosis {
	var out []Diagnosis
	folders := append([]Folder(nil), cfg.Folders...)
	if cfg.DefaultFolders {
		folders = append(folders, DefaultFolders(cfg.Homes)...)
	}
	if len(folders) == 0 {
		out = append(out, Diagnosis{Subject: "sync folders", OK: true,
			Detail: "no sync folder found in " + strings.Join(cfg.Homes, ", ") + " (the sensor looks again every " + cfg.Rescan.String() + ")"})
	}
	dirs := 0
	for _, f := range folders {
		n := 0
		err := filepath.WalkDir(f.Path, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				n++
			}
			if n > cfg.MaxWatches {
				return filepath.SkipAll
			}
			return nil
		})
		if err != nil {
			out = append(out, Diagnosis{Subject: "sync folder", Detail: f.Path + ": " + err.Error(), Fix: "run the agent as root"})
			continue
		}
		dirs += n
		out = append(out, Diagnosis{Subject: "sync folder", OK: true, Detail: fmt.Sprintf("%s (%s, %d directories)", f.Path, f.Provider, n)})
	}
	if dirs > cfg.MaxWatches {
		out = append(out, Diagnosis{Subject: "max_watches", Detail: fmt.Sprintf("%d directories to watch, more than max_watches %d", dirs, cfg.MaxWatches),
			Fix: "raise cloudsync.max_watches"})
	}
	if data, err := os.ReadFile("/proc/sys/fs/inotify/max_user_watches"); err == nil {
		limit, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		if limit > 0 && dirs > limit/2 {
			out = append(out, Diagnosis{Subject: "inotify watches", Detail: fmt.Sprintf("%d directories to watch; the per-user limit is %d", dirs, limit),
				Fix: "sysctl -w fs.inotify.max_user_watches=524288 (and put it in /etc/sysctl.d/)"})
		} else if limit > 0 {
			out = append(out, Diagnosis{Subject: "inotify watches", OK: true, Detail: fmt.Sprintf("%d directories to watch; the per-user limit is %d", dirs, limit)})
		}
	}
	return out
}
