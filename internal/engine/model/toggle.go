package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
)

// KindToggle is the object kind of feature toggles.
const KindToggle = "toggle"

// Toggle kinds: what a toggle is for, which decides how long it should live.
const (
	ToggleRelease    = "release"
	ToggleExperiment = "experiment"
	ToggleOps        = "ops"
	TogglePermission = "permission"
)

// DefaultBucketBy is the context attribute rollouts bucket by unless told
// otherwise: the OpenFeature targeting key.
const DefaultBucketBy = "targetingKey"

// TotalBuckets is the number of rollout buckets; weights have at most three
// decimals, so one bucket is 0.001 percent.
const TotalBuckets = 100000

// Operators usable in a rule condition.
var Operators = []string{
	"equals", "not_equals", "in", "not_in", "starts_with", "ends_with", "contains", "matches",
	"gt", "gte", "lt", "lte",
	"semver_eq", "semver_gt", "semver_gte", "semver_lt", "semver_lte",
}

var toggleKeyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)
var variantNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ToggleSpec is a feature toggle as its owner writes it. Field names match
// the Terraform schema, blocks included (rule, condition), so that a JSON
// Pointer into a spec is also an attribute path.
type ToggleSpec struct {
	Key            string                     `json:"key"`
	Description    string                     `json:"description"`
	Kind           string                     `json:"kind,omitempty"`
	Enabled        *bool                      `json:"enabled,omitempty"`
	Variants       map[string]json.RawMessage `json:"variants"`
	DefaultVariant string                     `json:"default_variant"`
	OffVariant     string                     `json:"off_variant,omitempty"`
	OnVariant      string                     `json:"on_variant,omitempty"`
	Rules          []ToggleRule               `json:"rule,omitempty"`
	Rollout        *Rollout                   `json:"rollout,omitempty"`
	// DisableOnAlarms names CloudWatch alarms; while any is in ALARM the
	// toggle serves its off variant.
	DisableOnAlarms []string `json:"disable_on_alarms,omitempty"`
	// VariantOrder is the order in which variants were first added. The
	// engine keeps it (callers' values are ignored): rollouts lay buckets out
	// in this order, so adding a variant never reshuffles existing subjects.
	VariantOrder []string `json:"variant_order,omitempty"`
}

// ToggleRule serves a variant, or a split, to the contexts that meet every
// condition. Rules are tried in order; the first match wins.
type ToggleRule struct {
	Name       string      `json:"name"`
	Variant    string      `json:"variant,omitempty"`
	Rollout    *Rollout    `json:"rollout,omitempty"`
	Conditions []Condition `json:"condition"`
}

// Condition tests one context attribute.
type Condition struct {
	Attribute string   `json:"attribute"`
	Operator  string   `json:"operator"`
	Values    []string `json:"values"`
}

// Rollout splits contexts between variants by sticky bucketing.
type Rollout struct {
	Weights  map[string]float64 `json:"weights"`
	BucketBy string             `json:"bucket_by,omitempty"`
	Salt     string             `json:"salt,omitempty"`
}

// IsEnabled reports the kill switch's position (default on).
func (s *ToggleSpec) IsEnabled() bool { return s.Enabled == nil || *s.Enabled }

// Normalize fills every defaulted field, so that what is stored, what
// Terraform plans and what evaluation reads are the same values. prevOrder
// is the stored variant order of the previous version (nil on create).
func (s *ToggleSpec) Normalize(prevOrder []string) {
	if s.Kind == "" {
		s.Kind = ToggleRelease
	}
	if s.Enabled == nil {
		t := true
		s.Enabled = &t
	}
	if s.OffVariant == "" {
		s.OffVariant = s.DefaultVariant
	}
	if s.OnVariant == "" {
		s.OnVariant = DefaultOnVariant(s.Variants)
	}
	for _, r := range s.allRollouts() {
		r.normalize(s.Key)
	}
	for name, v := range s.Variants {
		s.Variants[name] = CompactJSON(v)
	}
	s.VariantOrder = VariantOrder(prevOrder, s.Variants)
	if s.DisableOnAlarms == nil {
		s.DisableOnAlarms = []string{}
	}
}

func (r *Rollout) normalize(key string) {
	if r.BucketBy == "" {
		r.BucketBy = DefaultBucketBy
	}
	if r.Salt == "" {
		r.Salt = key
	}
}

func (s *ToggleSpec) allRollouts() []*Rollout {
	var out []*Rollout
	if s.Rollout != nil {
		out = append(out, s.Rollout)
	}
	for i := range s.Rules {
		if s.Rules[i].Rollout != nil {
			out = append(out, s.Rules[i].Rollout)
		}
	}
	return out
}

// DefaultOnVariant is the variant whose value is JSON true (the first by
// name), or "" when there is none (the toggle is not boolean).
func DefaultOnVariant(variants map[string]json.RawMessage) string {
	names := make([]string, 0, len(variants))
	for name := range variants {
		names = append(names, name)
	}
	sort.Strings(names) // several true variants: the first by name, always the same
	for _, name := range names {
		if string(bytes.TrimSpace(variants[name])) == "true" {
			return name
		}
	}
	return ""
}

// VariantOrder keeps prev's order for variants that still exist and appends
// new ones, sorted by name.
func VariantOrder(prev []string, variants map[string]json.RawMessage) []string {
	order := make([]string, 0, len(variants))
	seen := map[string]bool{}
	for _, name := range prev {
		if _, ok := variants[name]; ok && !seen[name] {
			order = append(order, name)
			seen[name] = true
		}
	}
	var added []string
	for name := range variants {
		if !seen[name] {
			added = append(added, name)
		}
	}
	sort.Strings(added)
	return append(order, added...)
}

// CompactJSON returns v without insignificant whitespace (v unchanged when it
// is not valid JSON; Validate reports that).
func CompactJSON(v json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return v
	}
	return b.Bytes()
}

// JSONType names the JSON type of v: boolean, string, number, object, array,
// null, or "" when v is not JSON.
func JSONType(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if !json.Valid(v) || len(v) == 0 {
		return ""
	}
	switch v[0] {
	case 't', 'f':
		return "boolean"
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 'n':
		return "null"
	}
	return "number"
}

// Validate checks a toggle, reporting every problem with a pointer to it.
func (s *ToggleSpec) Validate() error {
	var p Problems
	switch {
	case s.Key == "":
		p.Add("/key", "the key is required: 1 to 128 lower-case letters, digits, dots, underscores and hyphens, such as \"new-checkout\"")
	case !toggleKeyRE.MatchString(s.Key):
		p.Add("/key", "the key "+quote(s.Key)+" is not valid: use 1 to 128 lower-case letters, digits, dots, underscores and hyphens, starting with a letter or digit (for example \"new-checkout\")")
	}
	ValidateDescription(&p, "/description", s.Description)
	switch s.Kind {
	case "", ToggleRelease, ToggleExperiment, ToggleOps, TogglePermission:
	default:
		p.Add("/kind", "the kind "+quote(s.Kind)+" is not valid: use release, experiment, ops or permission")
	}
	s.validateVariants(&p)
	s.validateVariantRef(&p, "/default_variant", s.DefaultVariant, "default_variant", true)
	s.validateVariantRef(&p, "/off_variant", s.OffVariant, "off_variant", false)
	s.validateVariantRef(&p, "/on_variant", s.OnVariant, "on_variant", false)
	names := map[string]int{}
	for i, r := range s.Rules {
		base := Pointer("rule", i)
		switch {
		case r.Name == "":
			p.Add(base+"/name", "every rule needs a name, such as \"employees\"")
		case names[r.Name] > 0:
			p.Add(base+"/name", fmt.Sprintf("the rule name %s is already used by rule %d; give each rule its own name", quote(r.Name), names[r.Name]-1))
		default:
			names[r.Name] = i + 1
		}
		switch {
		case r.Variant != "" && r.Rollout != nil:
			p.Add(base, "rule "+quote(r.Name)+" has both a variant and a rollout; set exactly one")
		case r.Variant == "" && r.Rollout == nil:
			p.Add(base, "rule "+quote(r.Name)+" has neither a variant nor a rollout; set exactly one")
		case r.Variant != "":
			s.validateVariantRef(&p, base+"/variant", r.Variant, "variant", true)
		default:
			s.validateRollout(&p, base+"/rollout", r.Rollout)
		}
		if len(r.Conditions) == 0 {
			p.Add(base+"/condition", "rule "+quote(r.Name)+" has no condition; add at least one (a rule without conditions would match everyone: use default_variant or rollout for that)")
		}
		for j, c := range r.Conditions {
			validateCondition(&p, base+Pointer("condition", j), c)
		}
	}
	if s.Rollout != nil {
		s.validateRollout(&p, "/rollout", s.Rollout)
	}
	alarms := map[string]bool{}
	for i, a := range s.DisableOnAlarms {
		ptr := Pointer("disable_on_alarms", i)
		switch {
		case strings.TrimSpace(a) == "" || len(a) > 255:
			p.Add(ptr, "an alarm name must be 1 to 255 characters, as CloudWatch names it")
		case alarms[a]:
			p.Add(ptr, "the alarm "+quote(a)+" is listed twice; list each alarm once")
		}
		alarms[a] = true
	}
	return p.Err()
}

func (s *ToggleSpec) validateVariants(p *Problems) {
	if len(s.Variants) == 0 {
		p.Add("/variants", "a toggle needs at least one variant, such as on = true and off = false")
		return
	}
	names := make([]string, 0, len(s.Variants))
	for name := range s.Variants {
		names = append(names, name)
	}
	sort.Strings(names)
	first, firstName := "", ""
	for _, name := range names {
		ptr := Pointer("variants", name)
		if !variantNameRE.MatchString(name) {
			p.Add(ptr, "the variant name "+quote(name)+" is not valid: use 1 to 64 letters, digits, dots, underscores and hyphens, starting with a letter or digit")
		}
		typ := JSONType(s.Variants[name])
		switch {
		case typ == "":
			p.Add(ptr, "the value of variant "+quote(name)+" is not valid JSON; write it with jsonencode(...)")
		case typ == "null" || typ == "array":
			p.Add(ptr, "the value of variant "+quote(name)+" is a JSON "+typ+"; use a boolean, string, number or object")
		case first == "":
			first, firstName = typ, name
		case typ != first:
			p.Add(ptr, fmt.Sprintf("variant %s is a %s but variant %s is a %s; all variants of a toggle must have one JSON type", quote(name), typ, quote(firstName), first))
		}
	}
}

func (s *ToggleSpec) validateVariantRef(p *Problems, ptr, name, field string, required bool) {
	if name == "" {
		if required {
			p.Add(ptr, field+" is required: name one of the variants ("+s.variantList()+")")
		}
		return
	}
	if _, ok := s.Variants[name]; !ok && len(s.Variants) > 0 {
		p.Add(ptr, field+" "+quote(name)+" is not one of the variants ("+s.variantList()+")")
	}
}

func (s *ToggleSpec) variantList() string {
	names := make([]string, 0, len(s.Variants))
	for n := range s.Variants {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (s *ToggleSpec) validateRollout(p *Problems, base string, r *Rollout) {
	if len(r.Weights) == 0 {
		p.Add(base+"/weights", "a rollout needs weights, such as on = 10 and off = 90")
		return
	}
	total := int64(0)
	ok := true
	for name, w := range r.Weights {
		ptr := base + Pointer("weights", name)
		if _, known := s.Variants[name]; !known && len(s.Variants) > 0 {
			p.Add(ptr, "the weight names "+quote(name)+", which is not one of the variants ("+s.variantList()+")")
			ok = false
		}
		units, exact := WeightUnits(w)
		switch {
		case w < 0 || math.IsNaN(w) || math.IsInf(w, 0):
			p.Add(ptr, fmt.Sprintf("the weight %v is negative; weights are percentages from 0 to 100", w))
			ok = false
		case !exact:
			p.Add(ptr, fmt.Sprintf("the weight %v has more than 3 decimals; round it to at most 3 (for example 33.333)", w))
			ok = false
		}
		total += units
	}
	if ok && total != TotalBuckets {
		p.Add(base+"/weights", fmt.Sprintf("the weights add up to %s, not 100; make them sum to exactly 100", formatUnits(total)))
	}
	if r.BucketBy != "" && strings.TrimSpace(r.BucketBy) == "" {
		p.Add(base+"/bucket_by", "bucket_by must name a context attribute, such as targetingKey")
	}
}

// WeightUnits converts a percentage to thousandths of a percent, reporting
// whether it had at most three decimals.
func WeightUnits(w float64) (int64, bool) {
	u := w * 1000
	r := math.Round(u)
	return int64(r), math.Abs(u-r) < 1e-6
}

func formatUnits(u int64) string {
	s := fmt.Sprintf("%d.%03d", u/1000, u%1000)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

func validateCondition(p *Problems, base string, c Condition) {
	if strings.TrimSpace(c.Attribute) == "" {
		p.Add(base+"/attribute", "attribute must name a context attribute, such as email or targetingKey")
	}
	known := false
	for _, op := range Operators {
		if op == c.Operator {
			known = true
		}
	}
	if !known {
		p.Add(base+"/operator", "the operator "+quote(c.Operator)+" is not valid: use one of "+strings.Join(Operators, ", "))
		return
	}
	if len(c.Values) == 0 {
		p.Add(base+"/values", "the condition needs at least one value to compare with")
	}
	for k, v := range c.Values {
		ptr := base + Pointer("values", k)
		switch {
		case c.Operator == "matches":
			if _, err := regexp.Compile(v); err != nil {
				p.Add(ptr, "the regular expression "+quote(v)+" is not valid RE2: "+err.Error())
			}
		case strings.HasPrefix(c.Operator, "semver_"):
			if _, ok := ParseSemver(v); !ok {
				p.Add(ptr, "the version "+quote(v)+" is not a semantic version such as 1.4.2 or 2.0.0-rc.1")
			}
		case c.Operator == "gt" || c.Operator == "gte" || c.Operator == "lt" || c.Operator == "lte":
			if _, err := parseNumber(v); err != nil {
				p.Add(ptr, "the value "+quote(v)+" is not a number; "+c.Operator+" compares numbers")
			}
		}
	}
	if len(c.Values) > 1 && (c.Operator == "gt" || c.Operator == "gte" || c.Operator == "lt" || c.Operator == "lte" || strings.HasPrefix(c.Operator, "semver_")) {
		p.Add(base+"/values", c.Operator+" compares with exactly one value; use several conditions for a range")
	}
}

// ToggleStatus is what the engine records about a toggle (never its owner).
type ToggleStatus struct {
	// Hold, when set, serves the toggle as disabled although it is enabled.
	Hold *ToggleHold `json:"hold,omitempty"`
}

// ToggleHold says what holds a toggle off.
type ToggleHold struct {
	// Kind is "alarm" or "dark_launch".
	Kind string `json:"kind"`
	// Name is the alarm's or the dark launch's name.
	Name  string    `json:"name"`
	Since time.Time `json:"since"`
}

// ServesOnlyOff reports whether the toggle serves its off variant to every
// context: switched off, or every path (default, rules, rollouts) leading
// to the off variant. A dark launch holds its release toggle there.
func (s *ToggleSpec) ServesOnlyOff() bool {
	if !s.IsEnabled() {
		return true
	}
	off := s.OffVariant
	onlyOff := func(variant string, r *Rollout) bool {
		if r == nil {
			return variant == off
		}
		for v, w := range r.Weights {
			if v != off && w > 0 {
				return false
			}
		}
		return true
	}
	if !onlyOff(s.DefaultVariant, s.Rollout) {
		return false
	}
	for i := range s.Rules {
		if !onlyOff(s.Rules[i].Variant, s.Rules[i].Rollout) {
			return false
		}
	}
	return true
}
