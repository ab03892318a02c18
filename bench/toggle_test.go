package bench

import (
	"encoding/json"
	"testing"

	evaluation "github.com/launchdarkly/go-server-sdk-evaluation/v3"
	"github.com/launchdarkly/go-server-sdk-evaluation/v3/ldbuilders"
	"github.com/launchdarkly/go-server-sdk-evaluation/v3/ldmodel"

	"github.com/launchdarkly/go-sdk-common/v3/ldcontext"
	"github.com/launchdarkly/go-sdk-common/v3/ldreason"
	"github.com/launchdarkly/go-sdk-common/v3/ldvalue"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/toggle"
)

// benchToggle is the toggle of the toggle package's BenchmarkEvaluate
// (internal/engine/toggle/toggle_test.go), copied because a _test.go helper
// cannot be imported: 3 rules of 2 conditions each and a 10/90 rollout, none
// of the rules matching benchContext.
func benchToggle() *model.ToggleSpec {
	s := &model.ToggleSpec{
		Key:            "new-checkout",
		Variants:       map[string]json.RawMessage{"on": json.RawMessage(`true`), "off": json.RawMessage(`false`)},
		DefaultVariant: "off",
		Rules: []model.ToggleRule{
			{Name: "employees", Variant: "on", Conditions: []model.Condition{
				{Attribute: "email", Operator: "ends_with", Values: []string{"@example.com"}},
				{Attribute: "country", Operator: "in", Values: []string{"de", "fr"}}}},
			{Name: "beta", Variant: "on", Conditions: []model.Condition{
				{Attribute: "plan", Operator: "equals", Values: []string{"beta"}},
				{Attribute: "version", Operator: "semver_gte", Values: []string{"2.0.0"}}}},
			{Name: "big", Variant: "on", Conditions: []model.Condition{
				{Attribute: "seats", Operator: "gt", Values: []string{"100"}},
				{Attribute: "country", Operator: "not_in", Values: []string{"us"}}}},
		},
		Rollout: &model.Rollout{Weights: map[string]float64{"on": 10, "off": 90}},
	}
	s.Normalize(nil)
	return s
}

// benchContext is the evaluation context of BenchmarkEvaluate.
func benchContext() toggle.Context {
	return toggle.Context{"targetingKey": "user-123", "email": "ann@corp.example", "country": "fr", "plan": "pro", "version": "2.3.1", "seats": 12.0}
}

// ldFlag is benchToggle in LaunchDarkly's flag model. Variations are laid
// out in the toggle's variant order (off, on), and so are the rollout's
// buckets. LaunchDarkly has no equals, not_in nor semver_gte: equals is "in"
// with one value, not_in is a negated "in", and semver_gte is a negated
// semVerLessThan (no bound makes semVerGreaterThan equivalent: 2.0.0 - ε
// would admit 2.0.0's pre-releases). The two differ only on absent
// attributes and invalid versions, which benchContext does not have.
// FlagBuilder.Build preprocesses the flag, as the SDK does when it loads one.
func ldFlag() ldmodel.FeatureFlag {
	const off, on = 0, 1
	str := ldvalue.String
	return ldbuilders.NewFlagBuilder("new-checkout").
		On(true).
		Salt("new-checkout").
		Variations(ldvalue.Bool(false), ldvalue.Bool(true)).
		OffVariation(off).
		AddRule(ldbuilders.NewRuleBuilder().ID("employees").Variation(on).Clauses(
			ldbuilders.Clause("email", ldmodel.OperatorEndsWith, str("@example.com")),
			ldbuilders.Clause("country", ldmodel.OperatorIn, str("de"), str("fr")))).
		AddRule(ldbuilders.NewRuleBuilder().ID("beta").Variation(on).Clauses(
			ldbuilders.Clause("plan", ldmodel.OperatorIn, str("beta")),
			ldbuilders.Negate(ldbuilders.Clause("version", ldmodel.OperatorSemVerLessThan, str("2.0.0"))))).
		AddRule(ldbuilders.NewRuleBuilder().ID("big").Variation(on).Clauses(
			ldbuilders.Clause("seats", ldmodel.OperatorGreaterThan, ldvalue.Int(100)),
			ldbuilders.Negate(ldbuilders.Clause("country", ldmodel.OperatorIn, str("us"))))).
		Fallthrough(ldbuilders.Rollout(ldbuilders.Bucket(off, 90000), ldbuilders.Bucket(on, 10000))).
		Build()
}

// ldContext is benchContext as a LaunchDarkly context (targetingKey is the key).
func ldContext() ldcontext.Context {
	return ldcontext.NewBuilder("user-123").
		SetString("email", "ann@corp.example").
		SetString("country", "fr").
		SetString("plan", "pro").
		SetString("version", "2.3.1").
		SetFloat64("seats", 12).
		Build()
}

// noData is a data provider without prerequisite flags or segments.
type noData struct{}

func (noData) GetFeatureFlag(string) *ldmodel.FeatureFlag { return nil }
func (noData) GetSegment(string) *ldmodel.Segment         { return nil }

// TestToggleEquivalence checks that the two flags of BenchmarkToggleEvaluation
// are the same flag: on contexts that reach each rule, or none, both pick
// the same rule or fall through to the rollout.
func TestToggleEquivalence(t *testing.T) {
	tg, err := toggle.Compile(benchToggle(), 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	flag := ldFlag()
	ev := evaluation.NewEvaluator(noData{})
	cases := []struct {
		attrs map[string]any
		rule  string // "" when the rollout decides
	}{
		{map[string]any{}, ""}, // benchContext
		{map[string]any{"email": "ann@example.com", "country": "de"}, "employees"},
		{map[string]any{"email": "ann@example.com", "country": "us"}, ""},
		{map[string]any{"plan": "beta", "version": "2.0.0"}, "beta"},
		{map[string]any{"plan": "beta", "version": "2.0.0-rc.1"}, ""},
		{map[string]any{"plan": "beta", "version": "1.9.9"}, ""},
		{map[string]any{"seats": 500.0}, "big"},
		{map[string]any{"seats": 500.0, "country": "us"}, ""},
		{map[string]any{"seats": 100.0}, ""},
	}
	for _, c := range cases {
		ctx := benchContext()
		lb := ldcontext.NewBuilderFromContext(ldContext())
		for k, v := range c.attrs {
			ctx[k] = v
			lb.SetValue(k, ldvalue.CopyArbitraryValue(v))
		}
		r := tg.Evaluate(ctx, false)
		wantReason := toggle.ReasonTargetingMatch
		if c.rule == "" {
			wantReason = toggle.ReasonSplit
		}
		if r.Reason != wantReason || r.Rule != c.rule {
			t.Errorf("progressive on %v: got %s rule %q, want rule %q", c.attrs, r.Reason, r.Rule, c.rule)
		}
		lr := ev.Evaluate(&flag, lb.Build(), nil).Detail.Reason
		switch {
		case c.rule == "" && lr.GetKind() != ldreason.EvalReasonFallthrough,
			c.rule != "" && (lr.GetKind() != ldreason.EvalReasonRuleMatch || lr.GetRuleID() != c.rule):
			t.Errorf("launchdarkly on %v: got %s, want rule %q", c.attrs, lr, c.rule)
		}
	}
}

// BenchmarkToggleEvaluation measures in-process evaluation of one toggle (3
// rules of 2 conditions, none matching, then a 2-variant rollout) by the
// engine's evaluator and by LaunchDarkly's Go evaluation library.
func BenchmarkToggleEvaluation(b *testing.B) {
	b.Run("progressive", func(b *testing.B) {
		tg, err := toggle.Compile(benchToggle(), 7, nil)
		if err != nil {
			b.Fatal(err)
		}
		ctx := benchContext()
		if r := tg.Evaluate(ctx, false); r.Reason != toggle.ReasonSplit || r.Rule != "" {
			b.Fatalf("want the rollout to decide, got %+v", r)
		}
		b.ReportAllocs()
		for b.Loop() {
			tg.Evaluate(ctx, false)
		}
	})
	b.Run("launchdarkly", func(b *testing.B) {
		flag := ldFlag()
		ctx := ldContext()
		ev := evaluation.NewEvaluator(noData{})
		r := ev.Evaluate(&flag, ctx, nil)
		if r.Detail.Reason.GetKind() != ldreason.EvalReasonFallthrough || !r.Detail.VariationIndex.IsDefined() {
			b.Fatalf("want the fallthrough rollout to decide, got %+v", r.Detail)
		}
		b.ReportAllocs()
		for b.Loop() {
			ev.Evaluate(&flag, ctx, nil)
		}
	})
}
