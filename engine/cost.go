package engine

import (
	"strings"

	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/types/traits"
)

// Bounds the cost estimator assumes for event values. Sensors truncate to
// these sizes, so an estimate built on them is an upper bound in practice.
const (
	maxFieldChars = 32 * 1024 // longest string field (command lines)
	maxListItems  = 1024      // longest list field (email recipients)
	maxElemChars  = 1024      // longest element of a list field
)

// costEstimator gives CEL's compile-time cost estimate real sizes: bounded
// event fields, and the actual lengths of bundle data lists.
type costEstimator struct {
	data map[string]*dataVar
}

var _ checker.CostEstimator = costEstimator{}

// EstimateSize implements checker.CostEstimator.
func (ce costEstimator) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	path := n.Path()
	if len(path) == 0 {
		return nil
	}
	name := strings.Join(path, ".")
	if last := path[len(path)-1]; strings.HasPrefix(last, "@") && len(path) > 1 {
		// An element of a list field (a loop variable in exists/all/map):
		// list elements such as recipients and arguments are short.
		return &checker.SizeEstimate{Min: 0, Max: maxElemChars}
	}
	if dv, ok := ce.data[name]; ok {
		if l, ok := dv.val.(traits.Sizer); ok {
			if sz, ok := l.Size().Value().(int64); ok {
				return &checker.SizeEstimate{Min: uint64(sz), Max: uint64(sz)}
			}
		}
	}
	if f, ok := fieldsByCEL[name]; ok {
		switch f.kind {
		case kindString:
			return &checker.SizeEstimate{Min: 0, Max: maxFieldChars}
		case kindStrings, kindInts, kindLabels:
			return &checker.SizeEstimate{Min: 0, Max: maxListItems}
		}
	}
	if name == "tz" {
		return &checker.SizeEstimate{Min: 0, Max: 64}
	}
	return nil
}

// EstimateCallCost implements checker.CostEstimator for Vigil's helper
// functions, which are linear in their inputs.
func (ce costEstimator) EstimateCallCost(function, _ string, _ *checker.AstNode, args []checker.AstNode) *checker.CallEstimate {
	switch function {
	case "glob", "domain_in", "cidr_match", "any_in", "contains_any":
		listMax := uint64(1)
		if len(args) == 2 {
			if sz := ce.EstimateSize(args[1]); sz != nil {
				listMax = sz.Max
			} else if cs := args[1].ComputedSize(); cs != nil {
				listMax = cs.Max
			}
		}
		perItem := uint64(maxElemChars / 64)
		if function == "glob" {
			perItem = maxFieldChars / 64
		}
		return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: 1 + listMax*perItem}}
	case "domain", "base_domain", "local_part":
		return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: maxFieldChars / 64}, ResultSize: &checker.SizeEstimate{Min: 0, Max: 255}}
	case "local_hour", "local_weekday", "days_until":
		return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: 5}}
	}
	return nil
}
