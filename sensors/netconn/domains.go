package netconn

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"
)

// Destination categories, reported as destination.category.
const (
	CategoryCloudStorage = "cloud-storage"
	CategoryWebmail      = "webmail"
	CategoryPaste        = "paste"
	CategoryFileSharing  = "file-sharing"
)

// shippedDomains is the domain list built into the binary.
//
//go:embed domains.txt
var shippedDomains string

// Domain is one entry of the classification list.
type Domain struct {
	// Domain matches itself and its sub-domains.
	Domain string `yaml:"domain"`
	// Category is one of the Category constants.
	Category string `yaml:"category"`
	// Provider is reported as destination.cloud_provider; optional.
	Provider string `yaml:"provider"`
}

// Classifier names the category and provider of a domain.
type Classifier struct {
	entries map[string]Domain
}

// ShippedDomains returns the list built into the binary.
func ShippedDomains() []Domain {
	list, err := ParseDomainList(shippedDomains)
	if err != nil {
		panic("netconn: shipped domain list: " + err.Error()) // caught by the tests
	}
	return list
}

// ParseDomainList reads the "CATEGORY DOMAIN [PROVIDER]" line format of
// the shipped list. Blank lines and lines starting with # are skipped.
func ParseDomainList(text string) ([]Domain, error) {
	var out []Domain
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("domain list line %d: want CATEGORY DOMAIN [PROVIDER], got %q", n, line)
		}
		d := Domain{Category: f[0], Domain: f[1]}
		if len(f) == 3 {
			d.Provider = f[2]
		}
		if err := d.validate(); err != nil {
			return nil, fmt.Errorf("domain list line %d: %w", n, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func (d Domain) validate() error {
	switch d.Category {
	case CategoryCloudStorage, CategoryWebmail, CategoryPaste, CategoryFileSharing:
	default:
		return fmt.Errorf("category %q is not cloud-storage, webmail, paste or file-sharing", d.Category)
	}
	if d.Domain == "" || strings.ContainsAny(d.Domain, " /@*") || strings.Trim(d.Domain, ".") != d.Domain {
		return fmt.Errorf("domain %q is not a domain name", d.Domain)
	}
	return nil
}

// NewClassifier builds a classifier from lists; later entries override
// earlier ones for the same domain.
func NewClassifier(lists ...[]Domain) *Classifier {
	c := &Classifier{entries: map[string]Domain{}}
	for _, l := range lists {
		for _, d := range l {
			d.Domain = strings.ToLower(d.Domain)
			c.entries[d.Domain] = d
		}
	}
	return c
}

// Classify returns the most specific entry that name falls under.
func (c *Classifier) Classify(name string) (Domain, bool) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	for name != "" {
		if d, ok := c.entries[name]; ok {
			return d, true
		}
		i := strings.IndexByte(name, '.')
		if i < 0 {
			break
		}
		name = name[i+1:]
	}
	return Domain{}, false
}

// Domains returns every domain name of the list, for the fallback that
// resolves them.
func (c *Classifier) Domains() []string {
	out := make([]string, 0, len(c.entries))
	for d := range c.entries {
		out = append(out, d)
	}
	return out
}
