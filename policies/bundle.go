// Package policies owns the policy bundle format: loading a bundle directory
// or .tar.gz, the OPA bundle manifest and signatures, rule YAML with source
// positions, lint, build, sign, verify and scenario test files. The built-in
// bundle lives in policies/library.
//
// It must not import engine, alerts, api or store: it describes policy, it
// does not evaluate it.
package policies

// Manifest is the OPA bundle .manifest.
type Manifest struct {
	Revision string         `json:"revision"`
	Roots    []string       `json:"roots,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// Module is one Rego source file of a bundle.
type Module struct {
	// Path is the file's path inside the bundle, such as "policy/decision.rego".
	Path string
	// Source is the file's text.
	Source []byte
}

// Bundle is a loaded policy bundle: rules, Rego modules and data.
type Bundle struct {
	Manifest Manifest
	// Rules are the detection rules, in file then document order.
	Rules []*Rule
	// Modules are the Rego modules, including *_test.rego files.
	Modules []Module
	// Data is the bundle's data document, rooted at OPA's data (so the lists
	// of the vigil root are under Data["vigil"]), without the compiled rules.
	Data map[string]any
	// Scenarios are the scenario test files (only when loaded from a
	// directory: built tarballs do not carry tests).
	Scenarios []*ScenarioFile
	// Dir is the source directory, when loaded from one.
	Dir string
	// Signed reports whether the bundle's signature was verified on load.
	Signed bool

	// dataPos records where each data.vigil entry was defined, for lint.
	dataPos map[string]Position
}

// Name is the bundle's name from the manifest metadata, or "unnamed".
func (b *Bundle) Name() string {
	if n, ok := b.Manifest.Metadata["name"].(string); ok && n != "" {
		return n
	}
	return "unnamed"
}

// Revision is the bundle's revision from the manifest.
func (b *Bundle) Revision() string { return b.Manifest.Revision }
