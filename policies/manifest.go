package policies

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ManifestFile is the name of the manifest in a bundle directory and tarball.
const ManifestFile = ".manifest"

// RootVigil is the data root every Vigil bundle lives under.
const RootVigil = "vigil"

var versionRe = regexp.MustCompile(`^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+][0-9A-Za-z.+-]*)?$`)

var manifestKeys = []string{"revision", "roots", "metadata", "rego_version"}

// MinVigil is the lowest Vigil version the bundle needs, from the manifest's
// metadata.min_vigil, or "" when it names none.
func (b *Bundle) MinVigil() string {
	v, _ := b.Manifest.Metadata["min_vigil"].(string)
	return v
}

// parseManifest reads and checks a .manifest. Roots default to ["vigil"].
func parseManifest(file string, raw []byte, ds *diags) (Manifest, bool) {
	var m Manifest
	v, jp, ok := parseJSON(file, raw, ds)
	if !ok {
		return m, false
	}
	at := func(p string) Position {
		if off, ok := jp.values[p]; ok {
			return offsetPos(file, raw, off)
		}
		return Position{File: file, Line: 1, Column: 1}
	}
	obj, isObj := v.(map[string]any)
	if !isObj {
		ds.errorf(at(""), codeManifest, "manifest: want a JSON object with revision, roots and metadata, got %s", kindOf(v))
		return m, false
	}
	before := len(ds.list)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "revision":
			s, ok := obj[k].(string)
			if !ok {
				ds.errorf(at(k), codeManifest, "manifest: revision: want a string, got %s", kindOf(obj[k]))
			}
			m.Revision = s
		case "roots":
			list, ok := obj[k].([]any)
			if !ok {
				ds.errorf(at(k), codeManifest, "manifest: roots: want a list such as [\"vigil\"], got %s", kindOf(obj[k]))
				continue
			}
			roots := make([]string, 0, len(list))
			for i, r := range list {
				s, ok := r.(string)
				if !ok {
					ds.errorf(at(k+"."+strconv.Itoa(i)), codeManifest, "manifest: roots.%d: want a string, got %s", i, kindOf(r))
					continue
				}
				roots = append(roots, s)
			}
			m.Roots = roots
			if len(roots) == 0 && len(list) == 0 {
				ds.errorf(at(k), codeRoots, "manifest: roots: empty; use [\"vigil\"] or roots under vigil/")
			}
		case "metadata":
			meta, ok := obj[k].(map[string]any)
			if !ok {
				ds.errorf(at(k), codeManifest, "manifest: metadata: want an object, got %s", kindOf(obj[k]))
				continue
			}
			m.Metadata = meta
		case "rego_version":
			if n, ok := obj[k].(int64); !ok || n != 1 {
				ds.errorf(at(k), codeManifest, "manifest: rego_version: Vigil bundles are Rego v1; remove the key or set it to 1")
			}
		default:
			ds.errorf(offsetPos(file, raw, jp.keys[k]), codeUnknownKey, "manifest: unknown key %q%s (a Vigil manifest has revision, roots and metadata)",
				k, didYouMean(k, manifestKeys))
		}
	}
	if m.Roots == nil {
		m.Roots = []string{RootVigil}
	}
	checkRoots(m.Roots, func(i int) Position { return at("roots." + strconv.Itoa(i)) }, ds)
	if m.Metadata != nil {
		checkMetadata(m.Metadata, func(p string) Position { return at("metadata." + p) }, ds)
	}
	return m, len(ds.list) == before
}

// checkRoots requires every root to be vigil or under it, and no two roots
// to overlap (as OPA does).
func checkRoots(roots []string, at func(int) Position, ds *diags) {
	for i, r := range roots {
		t := strings.Trim(r, "/")
		if t != RootVigil && !strings.HasPrefix(t, RootVigil+"/") {
			ds.errorf(at(i), codeRoots, "manifest: roots.%d: %q is outside vigil; a Vigil bundle's roots are [\"vigil\"] or paths under vigil/", i, r)
			continue
		}
		for _, seg := range strings.Split(t, "/") {
			if seg == "" || seg == "." || seg == ".." {
				ds.errorf(at(i), codeRoots, "manifest: roots.%d: %q is not a clean path", i, r)
				break
			}
		}
		for j := range i {
			o := strings.Trim(roots[j], "/")
			if rootContains(o, t) || rootContains(t, o) {
				ds.errorf(at(i), codeRoots, "manifest: roots.%d: %q overlaps roots.%d %q", i, r, j, roots[j])
			}
		}
	}
}

// rootContains reports whether the data path p is inside root.
func rootContains(root, p string) bool {
	root, p = strings.Trim(root, "/"), strings.Trim(p, "/")
	return root == "" || p == root || strings.HasPrefix(p, root+"/")
}

// rootsContain reports whether one of roots contains the data path p.
func rootsContain(roots []string, p string) bool {
	for _, r := range roots {
		if rootContains(r, p) {
			return true
		}
	}
	return false
}

func checkMetadata(meta map[string]any, at func(string) Position, ds *diags) {
	if v, ok := meta["name"]; ok {
		if s, ok := v.(string); !ok || strings.TrimSpace(s) == "" {
			ds.errorf(at("name"), codeManifest, "manifest: metadata.name: want a non-empty string")
		}
	}
	if v, ok := meta["min_vigil"]; ok {
		s, isStr := v.(string)
		if !isStr || !versionRe.MatchString(s) {
			ds.errorf(at("min_vigil"), codeManifest, "manifest: metadata.min_vigil: want a version such as \"1.4\" or \"v1.4.2\", got %s", jsonText(v))
		}
	}
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// compareVersions compares two versions such as "1.4" and "v1.4.2" by
// major, minor and patch; pre-release and build suffixes are ignored. It
// returns false when either does not parse.
func compareVersions(a, b string) (int, bool) {
	ma, mb := versionRe.FindStringSubmatch(a), versionRe.FindStringSubmatch(b)
	if ma == nil || mb == nil {
		return 0, false
	}
	for i := 1; i <= 3; i++ {
		x, _ := strconv.Atoi(ma[i])
		y, _ := strconv.Atoi(mb[i])
		if x != y {
			if x < y {
				return -1, true
			}
			return 1, true
		}
	}
	return 0, true
}

// manifestJSON is the .manifest a built bundle carries.
func manifestJSON(m Manifest) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append(b, '\n'), nil
}
