package toggle

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// Reasons, as OpenFeature names them.
const (
	ReasonStatic         = "STATIC"
	ReasonTargetingMatch = "TARGETING_MATCH"
	ReasonSplit          = "SPLIT"
	ReasonDefault        = "DEFAULT"
	ReasonDisabled       = "DISABLED"
)

// Error codes, as OpenFeature names them.
const (
	ErrFlagNotFound        = "FLAG_NOT_FOUND"
	ErrTargetingKeyMissing = "TARGETING_KEY_MISSING"
	ErrInvalidContext      = "INVALID_CONTEXT"
	ErrParse               = "PARSE_ERROR"
)

// Result is one evaluation. Its strings point into the compiled toggle, so
// producing it does not allocate.
type Result struct {
	Value   json.RawMessage
	Variant string
	Reason  string
	// ErrorCode and ErrorDetails are set when evaluation failed; Value is
	// then the default variant's.
	ErrorCode    string
	ErrorDetails string
	// Rule names the matching rule (TARGETING_MATCH, or SPLIT inside a rule).
	Rule string
	// AllOn is true when an all-on override decided the value.
	AllOn bool
	// Hold is set when an alarm or dark launch holds the toggle off.
	Hold *Hold
	// DefaultBecause explains a DEFAULT served because a rollout's bucket_by
	// attribute was absent (it names the attribute).
	DefaultBecause string
}

// Context is the evaluation context: attribute name to JSON-decoded value
// (string, float64, bool, nil, map, slice). "targetingKey" is the
// OpenFeature targeting key.
type Context map[string]any

// Evaluate evaluates t for ctx. allOn is the caller's all-on override.
func (t *Toggle) Evaluate(ctx Context, allOn bool) Result {
	if allOn && t.on >= 0 {
		return t.result(t.on, ReasonStatic, Result{AllOn: true, Hold: t.Hold})
	}
	if !t.Enabled || t.Hold != nil {
		return t.result(t.off, ReasonDisabled, Result{Hold: t.Hold})
	}
	for i := range t.rules {
		r := &t.rules[i]
		if !r.matches(ctx) {
			continue
		}
		if r.rollout == nil {
			return t.result(r.variant, ReasonTargetingMatch, Result{Rule: r.name})
		}
		res := t.split(r.rollout, ctx)
		res.Rule = r.name
		return res
	}
	if t.rollout != nil {
		return t.split(t.rollout, ctx)
	}
	if len(t.rules) == 0 {
		return t.result(t.def, ReasonStatic, Result{})
	}
	return t.result(t.def, ReasonDefault, Result{})
}

func (t *Toggle) result(i int, reason string, r Result) Result {
	r.Value = t.variants[i].value
	r.Variant = t.variants[i].name
	r.Reason = reason
	return r
}

func (t *Toggle) split(r *rollout, ctx Context) Result {
	raw, ok := ctx[r.bucketBy]
	if !ok || raw == nil {
		if r.bucketBy == model.DefaultBucketBy {
			res := t.result(t.def, ReasonDefault, Result{})
			res.ErrorCode = ErrTargetingKeyMissing
			res.ErrorDetails = "this toggle splits by targetingKey, and the evaluation context has none; send a targetingKey (for example the user or account ID)"
			return res
		}
		return t.result(t.def, ReasonDefault, Result{DefaultBecause: r.bucketBy})
	}
	var buf [128]byte
	b := append(buf[:0], r.salt...)
	b = append(b, '/')
	switch v := raw.(type) {
	case string:
		b = append(b, v...)
	case float64:
		b = strconv.AppendFloat(b, v, 'f', -1, 64)
	case bool:
		b = strconv.AppendBool(b, v)
	default:
		return t.result(t.def, ReasonDefault, Result{DefaultBecause: r.bucketBy})
	}
	bucket := int32(xxhash.Sum64(b) % model.TotalBuckets)
	for i, bound := range r.bounds {
		if bucket < bound {
			return t.result(r.idx[i], ReasonSplit, Result{})
		}
	}
	return t.result(t.def, ReasonDefault, Result{})
}

// Bucket returns the bucket of value under salt, as the package doc defines it.
func Bucket(salt, value string) int {
	return int(xxhash.Sum64String(salt+"/"+value) % model.TotalBuckets)
}

func (r *rule) matches(ctx Context) bool {
	for i := range r.conditions {
		if !r.conditions[i].holds(ctx) {
			return false
		}
	}
	return true
}

func (c *condition) holds(ctx Context) bool {
	raw, present := ctx[c.attribute]
	switch v := raw.(type) {
	case string:
		return c.holdsString(v)
	case float64:
		return c.holdsNumber(v)
	case bool:
		if v {
			return c.holdsString("true")
		}
		return c.holdsString("false")
	}
	// Absent, null or structured: only negative operators hold.
	_ = present
	return c.op == opNotEquals || c.op == opNotIn
}

func (c *condition) holdsString(v string) bool {
	switch c.op {
	case opEquals, opIn:
		return c.has(v)
	case opNotEquals, opNotIn:
		return !c.has(v)
	case opStartsWith:
		for _, s := range c.strs {
			if strings.HasPrefix(v, s) {
				return true
			}
		}
	case opEndsWith:
		for _, s := range c.strs {
			if strings.HasSuffix(v, s) {
				return true
			}
		}
	case opContains:
		for _, s := range c.strs {
			if strings.Contains(v, s) {
				return true
			}
		}
	case opMatches:
		return c.re.MatchString(v)
	case opGT, opGTE, opLT, opLTE:
		n, err := strconv.ParseFloat(v, 64)
		return err == nil && c.compareNumber(n)
	case opSemverEQ, opSemverGT, opSemverGTE, opSemverLT, opSemverLTE:
		sv, ok := model.ParseSemver(v)
		if !ok {
			return false
		}
		cmp := sv.Compare(c.semver)
		switch c.op {
		case opSemverEQ:
			return cmp == 0
		case opSemverGT:
			return cmp > 0
		case opSemverGTE:
			return cmp >= 0
		case opSemverLT:
			return cmp < 0
		default:
			return cmp <= 0
		}
	}
	return false
}

func (c *condition) has(v string) bool {
	if c.set != nil {
		_, ok := c.set[v]
		return ok
	}
	for _, s := range c.strs {
		if s == v {
			return true
		}
	}
	return false
}

func (c *condition) holdsNumber(v float64) bool {
	switch c.op {
	case opGT, opGTE, opLT, opLTE:
		return c.compareNumber(v)
	case opEquals, opIn, opNotEquals, opNotIn:
		found := false
		for _, n := range c.nums {
			if n == v {
				found = true
				break
			}
		}
		if c.op == opEquals || c.op == opIn {
			return found
		}
		return !found
	}
	// String operators on a number compare its decimal form.
	var buf [32]byte
	return c.holdsString(string(strconv.AppendFloat(buf[:0], v, 'f', -1, 64)))
}

func (c *condition) compareNumber(v float64) bool {
	switch c.op {
	case opGT:
		return v > c.num
	case opGTE:
		return v >= c.num
	case opLT:
		return v < c.num
	case opLTE:
		return v <= c.num
	}
	return false
}
