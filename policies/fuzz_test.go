package policies

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseRules feeds arbitrary bytes to the rule parser: it must never
// panic, every error must carry a position in the file, and every rule it
// accepts must survive the trip through a built bundle unchanged.
func FuzzParseRules(f *testing.F) {
	for _, pattern := range []string{"testdata/good/rules/*.yaml", "testdata/bad/*/rules/*.yaml", "testdata/lint/rules/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	for _, s := range []string{
		"", "~", "[]", "{}", "- ", "- ~", "- []", "- id: a\n  <<: *x\n", "- &a [*a]\n",
		"- id: a\n  title: T\n  severity: low\n  when: x\n  exceptions: [{field: f, in: [1, 2.5, true, \"\\xff\"]}]\n",
		"- id: a\n  title: T\n  severity: low\n  sequence: {within: 1s, steps: [{when: a}, {when: b}]}\n",
		"- id: a\n  threshold: {count: 9223372036854775807, window: 106751d}\n",
		"- {id: a, title: T, severity: low, when: x, exceptions: [{field: f, equals: 1e400}]}\n",
	} {
		f.Add([]byte(s))
	}
	const path = "rules/fuzz.yaml"
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := ParseRules(path, data)
		if err != nil {
			var ds Diagnostics
			if !errors.As(err, &ds) || len(ds) == 0 {
				t.Fatalf("error is not a non-empty Diagnostics: %T %v", err, err)
			}
			for _, d := range ds {
				if d.Pos.File != path || d.Pos.Line < 1 || d.Pos.Column < 1 || d.Msg == "" || d.Code == "" || d.Severity != DiagError {
					t.Fatalf("diagnostic without a full position, code or message: %#v", d)
				}
			}
			if !strings.HasPrefix(err.Error(), path+":") {
				t.Fatalf("message does not start with the file: %q", err.Error())
			}
			return
		}
		for _, r := range rules {
			if r.Source.File != path || r.Source.Line < 1 {
				t.Fatalf("rule %q without a source position: %+v", r.ID, r.Source)
			}
			for k, p := range r.FieldPos {
				if p.File != path || p.Line < 1 {
					t.Fatalf("rule %q: field %s without a position: %+v", r.ID, k, p)
				}
			}
		}
		raw, err := json.Marshal(rules)
		if err != nil {
			t.Fatalf("accepted rules do not encode: %v", err)
		}
		ds := &diags{}
		back := decodeRulesData("vigil/_rules/data.json", raw, ds)
		if ds.hasErrors() || len(back) != len(rules) {
			t.Fatalf("accepted rules do not decode: %v", ds.list)
		}
		for i := range rules {
			if rules[i].Hash() != back[i].Hash() {
				a, _ := json.Marshal(rules[i])
				b, _ := json.Marshal(back[i])
				t.Fatalf("rule changes through JSON:\n%s\n%s", a, b)
			}
		}
	})
}

// FuzzLoadTarball feeds arbitrary bytes to the tarball loader: it must
// never panic, never read past its limits, and whatever it accepts must
// build and load again to the same bundle.
func FuzzLoadTarball(f *testing.F) {
	good, err := LoadDir(goodDir)
	if err != nil {
		f.Fatal(err)
	}
	var unsigned, signed bytes.Buffer
	if err := Build(good, &unsigned, BuildOptions{}); err != nil {
		f.Fatal(err)
	}
	priv, _, err := GenerateKey("ES256")
	if err != nil {
		f.Fatal(err)
	}
	if err := Build(good, &signed, BuildOptions{SigningKey: priv}); err != nil {
		f.Fatal(err)
	}
	f.Add(unsigned.Bytes())
	f.Add(signed.Bytes())
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00"))

	const (
		maxTotal = 1 << 20
		maxFile  = 256 << 10
		maxFiles = 64
	)
	opts := []LoadOption{WithMaxSize(maxTotal, maxFile), WithMaxFiles(maxFiles)}
	f.Fuzz(func(t *testing.T, data []byte) {
		arc, err := readArchive(bytes.NewReader(data), newLoadConfig(opts))
		if err == nil {
			if arc.uncompressed > maxTotal || len(arc.files) > maxFiles {
				t.Fatalf("limits exceeded: %d bytes, %d files", arc.uncompressed, len(arc.files))
			}
			for _, fl := range arc.files {
				if len(fl.data) > maxFile {
					t.Fatalf("file %q exceeds the per-file limit", fl.name)
				}
				if strings.HasPrefix(fl.name, "/") || strings.Contains("/"+fl.name+"/", "/../") || strings.Contains(fl.name, `\`) {
					t.Fatalf("unsafe name accepted: %q", fl.name)
				}
			}
		}
		b, err := LoadTarball(bytes.NewReader(data), opts...)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := Build(b, &out, BuildOptions{}); err != nil {
			t.Fatalf("a loaded bundle does not build: %v", err)
		}
		again, err := LoadTarball(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("a rebuilt bundle does not load: %v", err)
		}
		if len(again.Rules) != len(b.Rules) {
			t.Fatalf("rules lost in a rebuild: %d != %d", len(again.Rules), len(b.Rules))
		}
		for i := range b.Rules {
			if b.Rules[i].Hash() != again.Rules[i].Hash() {
				t.Fatalf("rule %q changes in a rebuild", b.Rules[i].ID)
			}
		}
	})
}
