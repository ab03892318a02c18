package toggle

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// Hold says why a toggle is served as disabled although it is enabled.
type Hold = model.ToggleHold

// Toggle is a compiled toggle, ready to evaluate.
type Toggle struct {
	Key     string
	Kind    string
	Version int64
	Enabled bool
	Hold    *Hold

	variants []variant // in variant order
	def      int       // index into variants
	off      int
	on       int // -1 when there is no on variant
	rules    []rule
	rollout  *rollout
}

type variant struct {
	name  string
	value json.RawMessage
}

type rule struct {
	name       string
	variant    int
	rollout    *rollout
	conditions []condition
}

type rollout struct {
	bucketBy string
	salt     string
	// bounds[i] is the exclusive upper bucket of variants[idx[i]].
	bounds []int32
	idx    []int
}

type op uint8

const (
	opEquals op = iota
	opNotEquals
	opIn
	opNotIn
	opStartsWith
	opEndsWith
	opContains
	opMatches
	opGT
	opGTE
	opLT
	opLTE
	opSemverEQ
	opSemverGT
	opSemverGTE
	opSemverLT
	opSemverLTE
)

var ops = map[string]op{
	"equals": opEquals, "not_equals": opNotEquals, "in": opIn, "not_in": opNotIn,
	"starts_with": opStartsWith, "ends_with": opEndsWith, "contains": opContains, "matches": opMatches,
	"gt": opGT, "gte": opGTE, "lt": opLT, "lte": opLTE,
	"semver_eq": opSemverEQ, "semver_gt": opSemverGT, "semver_gte": opSemverGTE, "semver_lt": opSemverLT, "semver_lte": opSemverLTE,
}

type condition struct {
	attribute string
	op        op
	strs      []string
	set       map[string]struct{}
	nums      []float64 // values that parse as numbers, for equality with numeric attributes
	num       float64
	re        *regexp.Regexp
	semver    model.Semver
}

// Compile turns a validated, normalized spec into a Toggle. hold may be nil.
func Compile(spec *model.ToggleSpec, version int64, hold *Hold) (*Toggle, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	t := &Toggle{Key: spec.Key, Kind: spec.Kind, Version: version, Enabled: spec.IsEnabled(), Hold: hold, on: -1}
	order := spec.VariantOrder
	if len(order) != len(spec.Variants) {
		order = model.VariantOrder(order, spec.Variants)
	}
	index := map[string]int{}
	for i, name := range order {
		index[name] = i
		t.variants = append(t.variants, variant{name: name, value: model.CompactJSON(spec.Variants[name])})
	}
	t.def = index[spec.DefaultVariant]
	t.off = t.def
	if spec.OffVariant != "" {
		t.off = index[spec.OffVariant]
	}
	if on := spec.OnVariant; on != "" {
		t.on = index[on]
	} else if on := model.DefaultOnVariant(spec.Variants); on != "" {
		t.on = index[on]
	}
	for _, r := range spec.Rules {
		cr := rule{name: r.Name, variant: -1}
		if r.Variant != "" {
			cr.variant = index[r.Variant]
		} else {
			cr.rollout = compileRollout(r.Rollout, spec.Key, order)
		}
		for _, c := range r.Conditions {
			cc, err := compileCondition(c)
			if err != nil {
				return nil, err
			}
			cr.conditions = append(cr.conditions, cc)
		}
		t.rules = append(t.rules, cr)
	}
	if spec.Rollout != nil {
		t.rollout = compileRollout(spec.Rollout, spec.Key, order)
	}
	return t, nil
}

func compileRollout(r *model.Rollout, key string, order []string) *rollout {
	cr := &rollout{bucketBy: r.BucketBy, salt: r.Salt}
	if cr.bucketBy == "" {
		cr.bucketBy = model.DefaultBucketBy
	}
	if cr.salt == "" {
		cr.salt = key
	}
	var cum int32
	for i, name := range order {
		units, _ := model.WeightUnits(r.Weights[name])
		if units == 0 {
			continue
		}
		cum += int32(units)
		cr.bounds = append(cr.bounds, cum)
		cr.idx = append(cr.idx, i)
	}
	return cr
}

func compileCondition(c model.Condition) (condition, error) {
	cc := condition{attribute: c.Attribute, op: ops[c.Operator], strs: c.Values}
	switch cc.op {
	case opIn, opNotIn:
		cc.set = make(map[string]struct{}, len(c.Values))
		for _, v := range c.Values {
			cc.set[v] = struct{}{}
		}
	case opMatches:
		re, err := regexp.Compile(c.Values[0])
		if err != nil {
			return cc, err
		}
		cc.re = re
	case opGT, opGTE, opLT, opLTE:
		n, err := model.ParseNumber(c.Values[0])
		if err != nil {
			return cc, err
		}
		cc.num = n
	case opSemverEQ, opSemverGT, opSemverGTE, opSemverLT, opSemverLTE:
		v, ok := model.ParseSemver(c.Values[0])
		if !ok {
			return cc, fmt.Errorf("not a semantic version: %q", c.Values[0])
		}
		cc.semver = v
	}
	if cc.op == opMatches && len(c.Values) > 1 {
		// Several patterns: any may match.
		pattern := ""
		for i, v := range c.Values {
			if i > 0 {
				pattern += "|"
			}
			pattern += "(?:" + v + ")"
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return cc, err
		}
		cc.re = re
	}
	for _, v := range c.Values {
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			cc.nums = append(cc.nums, n)
		}
	}
	return cc, nil
}
