package alerts

import (
	"path"
	"slices"
)

// Match reports whether alert a passes the filter.
func (f *Filter) Match(a *Alert) bool {
	if f.MinSeverity != "" && severityRank(a.Severity) < severityRank(f.MinSeverity) {
		return false
	}
	if len(f.Rules) > 0 && !anyRuleMatches(f.Rules, a.RuleIDs) {
		return false
	}
	if anyRuleMatches(f.ExcludeRules, a.RuleIDs) {
		return false
	}
	if len(f.Tags) > 0 && !slices.ContainsFunc(a.Tags, func(t string) bool { return slices.Contains(f.Tags, t) }) {
		return false
	}
	return !slices.ContainsFunc(a.Tags, func(t string) bool { return slices.Contains(f.ExcludeTags, t) })
}

func anyRuleMatches(patterns, rules []string) bool {
	for _, p := range patterns {
		for _, r := range rules {
			if ok, _ := path.Match(p, r); ok {
				return true
			}
		}
	}
	return false
}
