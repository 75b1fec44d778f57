// Package benchmark builds the engine's benchmark workload, shared by the
// engine's Go benchmarks and `vigil bench`: generated rule sets in two
// forms — Vigil rules (CEL conditions, some with windows) and the same
// conditions written in Rego the way OPA evaluates fastest — and the runner
// that measures both side by side on a generated mixed event stream.
package benchmark

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigil-itm/vigil/event"
	"github.com/vigil-itm/vigil/policies"
)

// benchActions are the actions generated rules are spread over.
func benchActions() []string {
	infos := event.Actions()
	out := make([]string, 0, len(infos))
	for _, a := range infos {
		out = append(out, a.Name)
	}
	return out
}

// ruleShape is one generated condition in both languages.
type ruleShape struct {
	cel  string
	rego []string // body lines, without the action test
}

// shape returns the i-th generated condition for action a. The shapes mix
// what real rules test: numeric bounds, list membership in bundle data,
// path globs, domains, user and process names.
func shape(i int, a string) ruleShape {
	k := i % 10
	switch i % 6 {
	case 0:
		return ruleShape{
			cel:  fmt.Sprintf(`file.size > %d && file.extension in data.vigil.bench.exts_%d`, 100000*(i+1), k),
			rego: []string{fmt.Sprintf("input.event.file.size > %d", 100000*(i+1)), fmt.Sprintf("input.event.file.extension in data.vigil.bench.exts_%d", k)},
		}
	case 1:
		return ruleShape{
			cel:  fmt.Sprintf(`glob(file.path, "/srv/dept-%d/**")`, k),
			rego: []string{fmt.Sprintf(`glob.match("/srv/dept-%d/**", ["/"], input.event.file.path)`, k)},
		}
	case 2:
		return ruleShape{
			cel:  `destination.domain in data.vigil.bench.domains`,
			rego: []string{`input.event.destination.domain in data.vigil.bench.domains`},
		}
	case 3:
		return ruleShape{
			cel:  fmt.Sprintf(`user.department == "dept-%d" && user.name != "root"`, k),
			rego: []string{fmt.Sprintf(`input.event.user.department == "dept-%d"`, k), `input.event.user.name != "root"`},
		}
	case 4:
		return ruleShape{
			cel:  fmt.Sprintf(`print.pages > %d || clipboard.content_length > %d`, 20+i, 5000*(i+1)),
			rego: []string{fmt.Sprintf(`big_output(%d, %d)`, 20+i, 5000*(i+1))},
		}
	}
	return ruleShape{
		cel:  fmt.Sprintf(`user.name.startsWith("user%d") && host.name != ""`, k),
		rego: []string{fmt.Sprintf(`startswith(input.event.user.name, "user%d")`, k), `input.event.host.name != ""`},
	}
}

// Rules generates n Vigil rules spread over every action; one in ten is a
// count threshold per user so window state is exercised too.
func Rules(n int) []*policies.Rule {
	acts := benchActions()
	out := make([]*policies.Rule, 0, n)
	for i := range n {
		a := acts[i%len(acts)]
		s := shape(i, a)
		r := &policies.Rule{
			ID:       fmt.Sprintf("bench-%04d", i),
			Title:    fmt.Sprintf("generated rule %d", i),
			Severity: policies.SeverityMedium,
			When:     fmt.Sprintf(`event.action == %q && (%s)`, a, s.cel),
			Source:   policies.Position{File: "generated.yaml", Line: i + 1},
		}
		if i%10 == 9 {
			r.Threshold = &policies.Threshold{Count: 20, Window: policies.Duration(10 * time.Minute), By: []string{"user.name"}}
		}
		out = append(out, r)
	}
	return out
}

// Data is the bundle data the generated rules refer to.
func Data() map[string]any {
	bench := map[string]any{
		"domains": []any{"dropbox.com", "mega.nz", "pastebin.com", "gmail.com", "wetransfer.com", "drive.google.com"},
	}
	exts := []string{"xlsx", "pdf", "docx", "csv", "zip", "sql", "pptx", "kdbx", "pem", "bak"}
	for k := range 10 {
		l := []any{}
		for j := 0; j <= k%4; j++ {
			l = append(l, exts[(k+j)%len(exts)])
		}
		bench[fmt.Sprintf("exts_%d", k)] = l
	}
	return map[string]any{"vigil": map[string]any{"bench": bench}}
}

// Bundle returns a bundle of n generated rules, without a decision policy
// (the default decision applies).
func Bundle(n int) *policies.Bundle {
	return &policies.Bundle{
		Manifest: policies.Manifest{Revision: fmt.Sprintf("bench-%d", n), Roots: []string{"vigil"},
			Metadata: map[string]any{"name": "bench"}},
		Rules: Rules(n),
		Data:  Data(),
	}
}

// Rego returns the same n conditions as one Rego module, written for OPA's
// rule indexing: every rule starts with equality on input.event.event.action
// and contributes to the set data.vigil.bench.findings.
func Rego(n int) string {
	acts := benchActions()
	var b strings.Builder
	b.WriteString("package vigil.bench\n\n")
	b.WriteString("big_output(p, _) if input.event.print.pages > p\n\n")
	b.WriteString("big_output(_, c) if input.event.clipboard.content_length > c\n\n")
	for i := range n {
		a := acts[i%len(acts)]
		s := shape(i, a)
		fmt.Fprintf(&b, "findings contains %q if {\n\tinput.event.event.action == %q\n", fmt.Sprintf("bench-%04d", i), a)
		for _, line := range s.rego {
			b.WriteString("\t" + line + "\n")
		}
		b.WriteString("}\n\n")
	}
	return b.String()
}
