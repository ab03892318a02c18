package toggle

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

var update = flag.Bool("update", false, "rewrite testdata/buckets.json")

func boolToggle(mut func(s *model.ToggleSpec)) *model.ToggleSpec {
	s := &model.ToggleSpec{
		Key:            "new-checkout",
		Variants:       map[string]json.RawMessage{"on": json.RawMessage(`true`), "off": json.RawMessage(`false`)},
		DefaultVariant: "off",
	}
	if mut != nil {
		mut(s)
	}
	s.Normalize(nil)
	return s
}

func compile(t testing.TB, s *model.ToggleSpec, hold *Hold) *Toggle {
	t.Helper()
	c, err := Compile(s, 7, hold)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestReasons(t *testing.T) {
	rules := func(s *model.ToggleSpec) {
		s.Rules = []model.ToggleRule{{Name: "employees", Variant: "on", Conditions: []model.Condition{{Attribute: "email", Operator: "ends_with", Values: []string{"@example.com"}}}}}
	}
	split := func(s *model.ToggleSpec) {
		rules(s)
		s.Rollout = &model.Rollout{Weights: map[string]float64{"on": 50, "off": 50}}
	}
	disabled := func(s *model.ToggleSpec) { f := false; s.Enabled = &f }
	cases := []struct {
		name          string
		spec          *model.ToggleSpec
		hold          *Hold
		ctx           Context
		allOn         bool
		reason, value string
		errorCode     string
	}{
		{"static", boolToggle(nil), nil, Context{}, false, ReasonStatic, "false", ""},
		{"rule match", boolToggle(rules), nil, Context{"email": "ann@example.com"}, false, ReasonTargetingMatch, "true", ""},
		{"no match", boolToggle(rules), nil, Context{"email": "bob@else.org"}, false, ReasonDefault, "false", ""},
		{"split", boolToggle(split), nil, Context{"targetingKey": "user-1"}, false, ReasonSplit, "", ""},
		{"split without targeting key", boolToggle(split), nil, Context{}, false, ReasonDefault, "false", ErrTargetingKeyMissing},
		{"kill switch", boolToggle(disabled), nil, Context{"email": "ann@example.com"}, false, ReasonDisabled, "false", ""},
		{"alarm hold", boolToggle(rules), &Hold{Kind: "alarm", Name: "p99"}, Context{"email": "ann@example.com"}, false, ReasonDisabled, "false", ""},
		{"all-on beats kill switch", boolToggle(disabled), nil, Context{}, true, ReasonStatic, "true", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := compile(t, c.spec, c.hold).Evaluate(c.ctx, c.allOn)
			if r.Reason != c.reason || r.ErrorCode != c.errorCode || (c.value != "" && string(r.Value) != c.value) {
				t.Fatalf("got %+v, want reason %s value %s error %q", r, c.reason, c.value, c.errorCode)
			}
			if c.hold != nil && r.Hold != c.hold {
				t.Fatal("the hold is not reported")
			}
			if c.allOn && !r.AllOn {
				t.Fatal("all-on is not reported")
			}
		})
	}
}

func TestBucketByOtherAttributeAbsent(t *testing.T) {
	s := boolToggle(func(s *model.ToggleSpec) {
		s.Rollout = &model.Rollout{Weights: map[string]float64{"on": 100}, BucketBy: "accountId"}
	})
	r := compile(t, s, nil).Evaluate(Context{"targetingKey": "u"}, false)
	if r.Reason != ReasonDefault || r.ErrorCode != "" || r.DefaultBecause != "accountId" || string(r.Value) != "false" {
		t.Fatalf("got %+v", r)
	}
	r = compile(t, s, nil).Evaluate(Context{"accountId": 42.0}, false)
	if r.Reason != ReasonSplit || string(r.Value) != "true" {
		t.Fatalf("numeric bucket_by: %+v", r)
	}
}

func TestOperators(t *testing.T) {
	cases := []struct {
		op     string
		values []string
		attr   any
		want   bool
	}{
		{"equals", []string{"a", "b"}, "b", true},
		{"equals", []string{"3"}, 3.0, true},
		{"not_equals", []string{"a"}, "b", true},
		{"not_equals", []string{"a"}, nil, true},
		{"in", []string{"de", "fr"}, "fr", true},
		{"not_in", []string{"de", "fr"}, "it", true},
		{"in", []string{"true"}, true, true},
		{"starts_with", []string{"beta-"}, "beta-7", true},
		{"ends_with", []string{"@example.com"}, "x@example.org", false},
		{"contains", []string{"chrome"}, "mozilla chrome safari", true},
		{"matches", []string{`^user-[0-9]+$`}, "user-12", true},
		{"matches", []string{`^user-[0-9]+$`}, "admin", false},
		{"gt", []string{"10"}, 10.5, true},
		{"gte", []string{"10"}, 10.0, true},
		{"lt", []string{"10"}, "9", true},
		{"lte", []string{"10"}, 11.0, false},
		{"semver_gte", []string{"2.0.0"}, "2.0.0", true},
		{"semver_gt", []string{"2.0.0"}, "2.0.0-rc.1", false},
		{"semver_lt", []string{"2.0.0"}, "2.0.0-rc.1", true},
		{"semver_lt", []string{"1.0.0-alpha.beta"}, "1.0.0-alpha.1", true},
		{"semver_eq", []string{"v1.2.3"}, "1.2.3+build.5", true},
		{"semver_gt", []string{"1.2.3"}, "not-a-version", false},
		{"equals", []string{"a"}, nil, false},
	}
	for _, c := range cases {
		s := boolToggle(func(s *model.ToggleSpec) {
			s.Rules = []model.ToggleRule{{Name: "r", Variant: "on", Conditions: []model.Condition{{Attribute: "x", Operator: c.op, Values: c.values}}}}
		})
		ctx := Context{}
		if c.attr != nil {
			ctx["x"] = c.attr
		}
		got := compile(t, s, nil).Evaluate(ctx, false).Reason == ReasonTargetingMatch
		if got != c.want {
			t.Errorf("%s %v on %#v = %v, want %v", c.op, c.values, c.attr, got, c.want)
		}
	}
}

// Over 100,000 distinct keys a 10/90 split lands within ±0.5 points, and
// growing "on" from 10 to 20 percent keeps every subject that had it.
func TestDistributionAndStickiness(t *testing.T) {
	mk := func(on float64) *Toggle {
		return compile(t, boolToggle(func(s *model.ToggleSpec) {
			s.Rollout = &model.Rollout{Weights: map[string]float64{"on": on, "off": 100 - on}}
		}), nil)
	}
	ten, twenty := mk(10), mk(20)
	const n = 100000
	onTen, onTwenty := 0, 0
	for i := range n {
		ctx := Context{"targetingKey": fmt.Sprintf("user-%d", i)}
		a, b := ten.Evaluate(ctx, false), twenty.Evaluate(ctx, false)
		if a.Variant == "on" {
			onTen++
			if b.Variant != "on" {
				t.Fatalf("user-%d had on at 10%% and lost it at 20%%", i)
			}
		}
		if b.Variant == "on" {
			onTwenty++
		}
	}
	for _, c := range []struct {
		got  int
		want float64
	}{{onTen, 10}, {onTwenty, 20}} {
		if pct := 100 * float64(c.got) / n; math.Abs(pct-c.want) > 0.5 {
			t.Errorf("split landed %.3f%%, want %.0f%% ± 0.5", pct, c.want)
		}
	}
}

// Adding a variant appends it to the layout, so subjects in existing ranges
// keep their variant.
func TestAddingAVariantKeepsSubjects(t *testing.T) {
	s := boolToggle(func(s *model.ToggleSpec) {
		s.Rollout = &model.Rollout{Weights: map[string]float64{"on": 30, "off": 70}}
	})
	before := compile(t, s, nil)
	next := *s
	next.Variants = map[string]json.RawMessage{"on": json.RawMessage(`true`), "off": json.RawMessage(`false`), "a-new": json.RawMessage(`false`)}
	// The new variant takes its share from the last range (on).
	next.Rollout = &model.Rollout{Weights: map[string]float64{"off": 70, "on": 20, "a-new": 10}, Salt: s.Key}
	next.Normalize(s.VariantOrder)
	if fmt.Sprint(next.VariantOrder) != fmt.Sprint(append(append([]string{}, s.VariantOrder...), "a-new")) {
		t.Fatalf("order %v did not append the new variant to %v", next.VariantOrder, s.VariantOrder)
	}
	after := compile(t, &next, nil)
	for i := range 20000 {
		ctx := Context{"targetingKey": fmt.Sprintf("k%d", i)}
		a, b := before.Evaluate(ctx, false), after.Evaluate(ctx, false)
		if a.Variant == "off" && b.Variant != "off" || a.Variant == "on" && b.Variant == "off" {
			t.Fatalf("k%d moved from %s to %s", i, a.Variant, b.Variant)
		}
	}
}

// Golden vectors pin the bucketing function: any change to it would move
// subjects between variants in running experiments.
func TestBucketGoldenVectors(t *testing.T) {
	path := filepath.Join("testdata", "buckets.json")
	type vector struct {
		Salt   string `json:"salt"`
		Value  string `json:"value"`
		Bucket int    `json:"bucket"`
	}
	if *update {
		var vs []vector
		for _, salt := range []string{"new-checkout", "exp-2026", "ü-salt"} {
			for _, v := range []string{"", "user-1", "user-2", "42", "3.5", "true", "ann@example.com", "日本"} {
				vs = append(vs, vector{salt, v, Bucket(salt, v)})
			}
		}
		b, _ := json.MarshalIndent(vs, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 20 {
		t.Fatalf("only %d vectors", len(vs))
	}
	for _, v := range vs {
		if got := Bucket(v.Salt, v.Value); got != v.Bucket {
			t.Errorf("bucket(%q, %q) = %d, want %d", v.Salt, v.Value, got, v.Bucket)
		}
	}
	// Evaluation uses the same function.
	s := boolToggle(func(s *model.ToggleSpec) {
		s.Rollout = &model.Rollout{Weights: map[string]float64{"off": 50, "on": 50}, Salt: "exp-2026"}
	})
	tg := compile(t, s, nil)
	for _, v := range vs {
		if v.Salt != "exp-2026" || v.Value == "" {
			continue
		}
		want := s.VariantOrder[0]
		if v.Bucket >= 50000 {
			want = s.VariantOrder[1]
		}
		if got := tg.Evaluate(Context{"targetingKey": v.Value}, false).Variant; got != want {
			t.Errorf("%q evaluated to %s, its bucket %d says %s", v.Value, got, v.Bucket, want)
		}
	}
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	tg := compile(t, benchToggle(), nil)
	ctx := Context{"targetingKey": "user-123", "email": "ann@corp.example", "country": "fr", "plan": "pro", "version": "2.3.1", "seats": 12.0}
	if n := testing.AllocsPerRun(1000, func() { tg.Evaluate(ctx, false) }); n != 0 {
		t.Fatalf("Evaluate allocates %.1f times per call", n)
	}
}

// benchToggle has 3 rules of 2 conditions each and a 2-variant rollout, none
// of the rules matching the benchmark context.
func benchToggle() *model.ToggleSpec {
	return boolToggle(func(s *model.ToggleSpec) {
		s.Rules = []model.ToggleRule{
			{Name: "employees", Variant: "on", Conditions: []model.Condition{
				{Attribute: "email", Operator: "ends_with", Values: []string{"@example.com"}},
				{Attribute: "country", Operator: "in", Values: []string{"de", "fr"}}}},
			{Name: "beta", Variant: "on", Conditions: []model.Condition{
				{Attribute: "plan", Operator: "equals", Values: []string{"beta"}},
				{Attribute: "version", Operator: "semver_gte", Values: []string{"2.0.0"}}}},
			{Name: "big", Variant: "on", Conditions: []model.Condition{
				{Attribute: "seats", Operator: "gt", Values: []string{"100"}},
				{Attribute: "country", Operator: "not_in", Values: []string{"us"}}}},
		}
		s.Rollout = &model.Rollout{Weights: map[string]float64{"on": 10, "off": 90}}
	})
}

func BenchmarkEvaluate(b *testing.B) {
	tg := compile(b, benchToggle(), nil)
	ctx := Context{"targetingKey": "user-123", "email": "ann@corp.example", "country": "fr", "plan": "pro", "version": "2.3.1", "seats": 12.0}
	b.ReportAllocs()
	for b.Loop() {
		tg.Evaluate(ctx, false)
	}
}
