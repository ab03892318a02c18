package api_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/api"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/toggle"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

const (
	ofrepFlag  = "/ofrep/v1/evaluate/flags/"
	ofrepFlags = "/ofrep/v1/evaluate/flags"
)

// flagResult is one OFREP answer, success or failure.
type flagResult struct {
	Key          string          `json:"key"`
	Value        json.RawMessage `json:"value"`
	Reason       string          `json:"reason"`
	Variant      string          `json:"variant"`
	Metadata     map[string]any  `json:"metadata"`
	ErrorCode    string          `json:"errorCode"`
	ErrorDetails string          `json:"errorDetails"`
}

type bulkResult struct {
	Flags []flagResult `json:"flags"`
}

// evalFixtures are toggles of every value type, with rules, splits and a
// kill switch, in the default project.
var evalFixtures = []string{
	`{"key":"static-bool","variants":{"on":true,"off":false},"default_variant":"on"}`,
	`{"key":"checkout","variants":{"on":true,"off":false},"default_variant":"off",
	  "rule":[{"name":"employees","variant":"on","condition":[{"attribute":"email","operator":"ends_with","values":["@example.com"]}]},
	          {"name":"beta","rollout":{"weights":{"on":100,"off":0}},"condition":[{"attribute":"plan","operator":"equals","values":["beta"]}]}]}`,
	`{"key":"banner","kind":"experiment","variants":{"red":"red","blue":"blue"},"default_variant":"red","rollout":{"weights":{"blue":50,"red":50}}}`,
	`{"key":"limit","kind":"ops","variants":{"low":10,"high":2.5},"default_variant":"low",
	  "rule":[{"name":"big-cart","variant":"high","condition":[{"attribute":"cart","operator":"gt","values":["100"]}]}]}`,
	`{"key":"theme","kind":"permission","enabled":false,"variants":{"light":{"bg":"white","n":1},"dark":{"bg":"black","n":2}},"default_variant":"light","off_variant":"dark"}`,
	`{"key":"by-account","variants":{"on":true,"off":false},"default_variant":"off","rollout":{"weights":{"on":100,"off":0},"bucket_by":"accountId"}}`,
	`{"key":"kill-bool","enabled":false,"variants":{"on":true,"off":false},"default_variant":"off"}`,
}

// fixtureKeys are the fixtures' keys in the order bulk evaluation lists them.
var fixtureKeys = []string{"banner", "by-account", "checkout", "kill-bool", "limit", "static-bool", "theme"}

func (e *env) createFixtures() {
	e.t.Helper()
	for _, f := range evalFixtures {
		e.createToggle(model.DefaultProject, f)
	}
}

// wantFlag checks an OFREP answer's status and decodes it.
func wantFlag(t *testing.T, r response, status int) flagResult {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	if mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); mt != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", r.header.Get("Content-Type"))
	}
	var out flagResult
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return out
}

// wantFlagError checks an OFREP error answer: exactly key, errorCode and
// errorDetails.
func wantFlagError(t *testing.T, r response, status int, key, code string) flagResult {
	t.Helper()
	res := wantFlag(t, r, status)
	var fields map[string]any
	if err := json.Unmarshal(r.body, &fields); err != nil {
		t.Fatal(err)
	}
	wantFields := []string{"errorCode", "errorDetails"}
	if key != "" {
		wantFields = append(wantFields, "key")
	}
	if got := slices.Sorted(maps.Keys(fields)); !slices.Equal(got, wantFields) {
		t.Errorf("error answer has fields %q, want %q: %s", got, wantFields, r.body)
	}
	if res.Key != key || res.ErrorCode != code {
		t.Errorf("error answer %s; want key %q, errorCode %s", r.body, key, code)
	}
	if len(strings.Fields(res.ErrorDetails)) < 4 {
		t.Errorf("errorDetails %q does not say what to do", res.ErrorDetails)
	}
	return res
}

func (e *env) evalFlag(token, key, body string, headers ...string) response {
	e.t.Helper()
	return e.do("POST", ofrepFlag+key, token, body, headers...)
}

func (e *env) evalBulk(token, body string, headers ...string) response {
	e.t.Helper()
	return e.do("POST", ofrepFlags, token, body, headers...)
}

func bulkOf(t *testing.T, r response) map[string]flagResult {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("bulk: status %d; body %s", r.status, r.body)
	}
	var out bulkResult
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("decode bulk %s: %v", r.body, err)
	}
	m := map[string]flagResult{}
	for _, f := range out.Flags {
		m[f.Key] = f
	}
	return m
}

func bulkKeys(t *testing.T, r response) []string {
	t.Helper()
	var out bulkResult
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("decode bulk %s: %v", r.body, err)
	}
	var keys []string
	for _, f := range out.Flags {
		keys = append(keys, f.Key)
	}
	return keys
}

// wantResult checks a successful evaluation; md lists metadata that must be
// present (version and kind are always checked).
func wantResult(t *testing.T, what string, got flagResult, value, variant, reason string, version int, kind string, md map[string]any) {
	t.Helper()
	if string(got.Value) != value || got.Variant != variant || got.Reason != reason || got.ErrorCode != "" {
		t.Errorf("%s: value %s, variant %q, reason %s, error %q; want %s, %q, %s", what, got.Value, got.Variant, got.Reason, got.ErrorCode, value, variant, reason)
	}
	if got.Metadata["version"] != float64(version) || got.Metadata["kind"] != kind {
		t.Errorf("%s: metadata %v; want version %d and kind %s", what, got.Metadata, version, kind)
	}
	for k, v := range md {
		if got.Metadata[k] != v {
			t.Errorf("%s: metadata %s = %#v, want %#v (metadata %v)", what, k, got.Metadata[k], v, got.Metadata)
		}
	}
	for _, k := range []string{"rule", "allOn", "heldBy", "disabledBy", "defaultReason"} {
		if _, want := md[k]; !want && got.Metadata[k] != nil {
			t.Errorf("%s: unexpected metadata %s = %v", what, k, got.Metadata[k])
		}
	}
}

// splitKeys finds targeting keys that the banner's 50/50 split puts in blue
// and in red, by the documented bucketing: buckets below 50,000 go to the
// first variant in variant order (blue, then red).
func splitKeys(t *testing.T) (blue, red string) {
	t.Helper()
	for i := 0; blue == "" || red == ""; i++ {
		k := fmt.Sprintf("user-%d", i)
		if toggle.Bucket("banner", k) < 50000 {
			if blue == "" {
				blue = k
			}
		} else if red == "" {
			red = k
		}
	}
	return blue, red
}

func ctxBody(attrs string) string { return `{"context":{` + attrs + `}}` }

func TestOFREPEvaluation(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			e := newEnv(t, be.open)
			e.createFixtures()
			blue, red := splitKeys(t)

			cases := []struct {
				name, key, body              string
				value, variant, reason, kind string
				md                           map[string]any
			}{
				{"no rules, no rollout", "static-bool", ctxBody(`"targetingKey":"u1"`), `true`, "on", toggle.ReasonStatic, "release", nil},
				{"empty body", "static-bool", "", `true`, "on", toggle.ReasonStatic, "release", nil},
				{"empty object", "static-bool", `{}`, `true`, "on", toggle.ReasonStatic, "release", nil},
				{"null context", "static-bool", `{"context":null}`, `true`, "on", toggle.ReasonStatic, "release", nil},
				{"rule match", "checkout", ctxBody(`"targetingKey":"u1","email":"ann@example.com"`), `true`, "on", toggle.ReasonTargetingMatch, "release", map[string]any{"rule": "employees"}},
				{"no rule matches", "checkout", ctxBody(`"targetingKey":"u1","email":"ann@elsewhere.org"`), `false`, "off", toggle.ReasonDefault, "release", nil},
				{"split inside a rule", "checkout", ctxBody(`"targetingKey":"u1","plan":"beta"`), `true`, "on", toggle.ReasonSplit, "release", map[string]any{"rule": "beta"}},
				{"first rule wins", "checkout", ctxBody(`"targetingKey":"u1","plan":"beta","email":"bob@example.com"`), `true`, "on", toggle.ReasonTargetingMatch, "release", map[string]any{"rule": "employees"}},
				{"string split, first variant", "banner", ctxBody(`"targetingKey":"` + blue + `"`), `"blue"`, "blue", toggle.ReasonSplit, "experiment", nil},
				{"string split, second variant", "banner", ctxBody(`"targetingKey":"` + red + `"`), `"red"`, "red", toggle.ReasonSplit, "experiment", nil},
				{"number rule match", "limit", ctxBody(`"cart":150`), `2.5`, "high", toggle.ReasonTargetingMatch, "ops", map[string]any{"rule": "big-cart"}},
				{"number default", "limit", ctxBody(`"cart":50`), `10`, "low", toggle.ReasonDefault, "ops", nil},
				{"object, kill switch", "theme", ctxBody(`"targetingKey":"u1"`), `{"bg":"black","n":2}`, "dark", toggle.ReasonDisabled, "permission", map[string]any{"disabledBy": "kill switch"}},
				{"boolean, kill switch", "kill-bool", ctxBody(`"targetingKey":"u1"`), `false`, "off", toggle.ReasonDisabled, "release", map[string]any{"disabledBy": "kill switch"}},
				{"split by another attribute", "by-account", ctxBody(`"accountId":"acme"`), `true`, "on", toggle.ReasonSplit, "release", nil},
				{"split by a numeric attribute", "by-account", ctxBody(`"accountId":42`), `true`, "on", toggle.ReasonSplit, "release", nil},
			}
			for _, c := range cases {
				r := e.evalFlag(e.sdk, c.key, c.body)
				got := wantFlag(t, r, http.StatusOK)
				if got.Key != c.key {
					t.Errorf("%s: key %q, want %q", c.name, got.Key, c.key)
				}
				wantResult(t, c.name, got, c.value, c.variant, c.reason, 1, c.kind, c.md)
			}

			// The bucketing attribute is absent: the default, and why.
			got := wantFlag(t, e.evalFlag(e.sdk, "by-account", ctxBody(`"targetingKey":"u1"`)), http.StatusOK)
			wantResult(t, "absent bucket_by", got, `false`, "off", toggle.ReasonDefault, 1, "release", map[string]any{"defaultReason": got.Metadata["defaultReason"]})
			if reason, _ := got.Metadata["defaultReason"].(string); !strings.Contains(reason, `"accountId"`) {
				t.Errorf("defaultReason %q does not name the missing attribute", reason)
			}
			// The targeting key is absent from a split by targetingKey.
			for _, body := range []string{ctxBody(`"email":"ann@example.com"`), ctxBody(`"targetingKey":null`), ""} {
				res := wantFlagError(t, e.evalFlag(e.sdk, "banner", body), http.StatusBadRequest, "banner", toggle.ErrTargetingKeyMissing)
				if !strings.Contains(res.ErrorDetails, "targetingKey") {
					t.Errorf("details %q do not name targetingKey", res.ErrorDetails)
				}
			}

			// A change is served at once, with its version.
			r := e.do("PUT", togglesPath+"/checkout", e.write, `{"variants":{"on":true,"off":false},"default_variant":"on","off_variant":"off"}`)
			wantJSON(t, r, http.StatusOK, nil)
			got = wantFlag(t, e.evalFlag(e.sdk, "checkout", ctxBody(`"email":"ann@elsewhere.org"`)), http.StatusOK)
			wantResult(t, "after an update", got, `true`, "on", toggle.ReasonStatic, 2, "release", nil)

			// A hold set by the controller serves the off variant and names the alarm.
			setHold(t, e, model.DefaultProject, "checkout", "p99")
			got = wantFlag(t, e.evalFlag(e.sdk, "checkout", ctxBody(`"targetingKey":"u1"`)), http.StatusOK)
			wantResult(t, "held", got, `false`, "off", toggle.ReasonDisabled, 2, "release", map[string]any{"heldBy": "alarm", "alarm": "p99"})

			// A deleted toggle is not found.
			wantJSON(t, e.do("DELETE", togglesPath+"/checkout", e.write, ""), http.StatusNoContent, nil)
			res := wantFlagError(t, e.evalFlag(e.sdk, "checkout", ""), http.StatusNotFound, "checkout", toggle.ErrFlagNotFound)
			if !strings.Contains(res.ErrorDetails, `"checkout"`) || !strings.Contains(res.ErrorDetails, `"default"`) {
				t.Errorf("details %q should name the flag and the project", res.ErrorDetails)
			}
		})
	}
}

func TestOFREPErrors(t *testing.T) {
	e := newEnv(t, openSQLite)
	e.createFixtures()

	wantFlagError(t, e.evalFlag(e.sdk, "nope", ctxBody(`"targetingKey":"u1"`)), http.StatusNotFound, "nope", toggle.ErrFlagNotFound)

	for _, c := range []struct{ name, body, code string }{
		{"truncated JSON", `{"context":`, toggle.ErrParse},
		{"not JSON", `context=1`, toggle.ErrParse},
		{"a JSON array", `[1]`, toggle.ErrParse},
		{"context is a string", `{"context":"user-1"}`, toggle.ErrInvalidContext},
		{"context is an array", `{"context":[1,2]}`, toggle.ErrInvalidContext},
		{"context is a number", `{"context":5}`, toggle.ErrInvalidContext},
		{"targetingKey is a number", ctxBody(`"targetingKey":5`), toggle.ErrInvalidContext},
		{"targetingKey is an object", ctxBody(`"targetingKey":{"id":"u1"}`), toggle.ErrInvalidContext},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			res := wantFlagError(t, e.evalFlag(e.sdk, "static-bool", c.body), http.StatusBadRequest, "static-bool", c.code)
			if c.code == toggle.ErrInvalidContext && !strings.Contains(res.ErrorDetails, "must be") {
				t.Errorf("details %q do not say what the context must be", res.ErrorDetails)
			}
			// The bulk evaluation refuses it the same way, for no flag in particular.
			wantFlagError(t, e.evalBulk(e.sdk, c.body), http.StatusBadRequest, "", c.code)
		})
	}
	e.t = t

	// A context too large to read is refused, not evaluated.
	small := newEnv(t, openSQLite, func(s *api.Server) { s.MaxBodyBytes = 64 })
	small.createToggle(model.DefaultProject, `{"key":"s","variants":{"on":true},"default_variant":"on"}`)
	wantResult(t, "small context", wantFlag(t, small.evalFlag(small.sdk, "s", ctxBody(`"targetingKey":"u1"`)), http.StatusOK), `true`, "on", toggle.ReasonStatic, 1, "release", nil)
	res := wantFlagError(t, small.evalFlag(small.sdk, "s", ctxBody(`"targetingKey":"`+strings.Repeat("u", 200)+`"`)), http.StatusBadRequest, "s", toggle.ErrParse)
	if !strings.Contains(res.ErrorDetails, "too large") {
		t.Errorf("details %q do not say the body is too large", res.ErrorDetails)
	}
}

func TestOFREPAuthentication(t *testing.T) {
	e := newEnv(t, openSQLite)
	e.createFixtures()
	body := ctxBody(`"targetingKey":"u1"`)

	// No token, or a wrong one: 401 with a challenge.
	for _, r := range []response{
		e.evalFlag("", "static-bool", body),
		e.evalBulk("", body),
		e.evalFlag(model.NewTokenSecret(), "static-bool", body),
		e.evalFlag("", "static-bool", body, "X-API-Key", model.NewTokenSecret()),
		e.evalFlag("", "static-bool", body, "Authorization", "Basic "+e.sdk),
	} {
		wantProblem(t, r, http.StatusUnauthorized, problem.TypeUnauthenticated)
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("WWW-Authenticate %q, want a Bearer challenge", r.header.Get("WWW-Authenticate"))
		}
	}

	// Bearer and X-API-Key both work, with every kind of token.
	for name, r := range map[string]response{
		"sdk bearer":    e.evalFlag(e.sdk, "static-bool", body),
		"sdk api key":   e.evalFlag("", "static-bool", body, "X-API-Key", e.sdk),
		"write bearer":  e.evalFlag(e.write, "static-bool", body),
		"admin api key": e.evalFlag("", "static-bool", body, "X-API-Key", e.admin),
	} {
		wantResult(t, name, wantFlag(t, r, http.StatusOK), `true`, "on", toggle.ReasonStatic, 1, "release", nil)
	}
	if keys := bulkKeys(t, e.evalBulk("", body, "X-API-Key", e.sdk)); !slices.Equal(keys, fixtureKeys) {
		t.Errorf("bulk with X-API-Key: %q", keys)
	}

	// An sdk token is for evaluation only.
	before := e.toggleState()
	for _, c := range []struct{ method, path, body string }{
		{"GET", togglesPath, ""},
		{"POST", togglesPath, `{"key":"x","variants":{"a":1},"default_variant":"a"}`},
		{"GET", "/v1/projects", ""},
	} {
		wantProblem(t, e.do(c.method, c.path, e.sdk, c.body), http.StatusForbidden, problem.TypeForbidden)
		wantProblem(t, e.do(c.method, c.path, "", c.body, "X-API-Key", e.sdk), http.StatusForbidden, problem.TypeForbidden)
	}
	e.wantTogglesUnchanged(before)
}

// createSDKToken creates a token through the API and returns its secret.
func (e *env) createSDKToken(body string) string {
	e.t.Helper()
	var ct wire.CreatedToken
	wantJSON(e.t, e.do("POST", "/v1/tokens", e.admin, body), http.StatusCreated, &ct)
	if ct.Secret == "" || ct.Token.Kind != model.TokenSDK {
		e.t.Fatalf("created token %+v", ct)
	}
	return ct.Secret
}

func TestOFREPProjects(t *testing.T) {
	e := newEnv(t, openSQLite)
	e.createFixtures()
	wantJSON(t, e.do("POST", "/v1/projects", e.write, `{"name":"team-a"}`), http.StatusCreated, nil)
	e.createToggle("team-a", `{"key":"team-flag","variants":{"a":"A","b":"B"},"default_variant":"b"}`)
	e.createToggle("team-a", `{"key":"static-bool","variants":{"on":true,"off":false},"default_variant":"off"}`)
	body := ctxBody(`"targetingKey":"u1"`)

	// A token scoped to team-a evaluates team-a's toggles only.
	var ct wire.CreatedToken
	wantJSON(t, e.do("POST", "/v1/tokens", e.admin, `{"name":"team-a-app","kind":"sdk","project":"team-a"}`), http.StatusCreated, &ct)
	if ct.Token.Project != "team-a" || ct.Token.Kind != model.TokenSDK {
		t.Fatalf("created %+v", ct.Token)
	}
	teamA := ct.Secret
	wantResult(t, "team-a flag", wantFlag(t, e.evalFlag(teamA, "team-flag", body), http.StatusOK), `"B"`, "b", toggle.ReasonStatic, 1, "release", nil)
	wantResult(t, "team-a's static-bool", wantFlag(t, e.evalFlag(teamA, "static-bool", body), http.StatusOK), `false`, "off", toggle.ReasonStatic, 1, "release", nil)
	res := wantFlagError(t, e.evalFlag(teamA, "checkout", body), http.StatusNotFound, "checkout", toggle.ErrFlagNotFound)
	if !strings.Contains(res.ErrorDetails, `"team-a"`) {
		t.Errorf("details %q do not name the token's project", res.ErrorDetails)
	}
	// The project header does not widen an sdk token's reach.
	wantFlagError(t, e.evalFlag(teamA, "checkout", body, "X-Progressive-Project", model.DefaultProject), http.StatusNotFound, "checkout", toggle.ErrFlagNotFound)
	wantFlagError(t, e.evalFlag(e.sdk, "team-flag", body, "X-Progressive-Project", "team-a"), http.StatusNotFound, "team-flag", toggle.ErrFlagNotFound)
	if keys := bulkKeys(t, e.evalBulk(teamA, body, "X-Progressive-Project", model.DefaultProject)); !slices.Equal(keys, []string{"static-bool", "team-flag"}) {
		t.Errorf("bulk with the team-a token: %q, want [static-bool team-flag]", keys)
	}
	if keys := bulkKeys(t, e.evalBulk(e.sdk, body)); !slices.Equal(keys, fixtureKeys) {
		t.Errorf("bulk with the default sdk token: %q, want %q", keys, fixtureKeys)
	}

	// Admin and write tokens name the project in a header (default without).
	for _, tok := range []string{e.admin, e.write} {
		wantResult(t, "header team-a", wantFlag(t, e.evalFlag(tok, "team-flag", body, "X-Progressive-Project", "team-a"), http.StatusOK), `"B"`, "b", toggle.ReasonStatic, 1, "release", nil)
		wantFlagError(t, e.evalFlag(tok, "checkout", body, "X-Progressive-Project", "team-a"), http.StatusNotFound, "checkout", toggle.ErrFlagNotFound)
		wantResult(t, "no header", wantFlag(t, e.evalFlag(tok, "static-bool", body), http.StatusOK), `true`, "on", toggle.ReasonStatic, 1, "release", nil)
		wantFlagError(t, e.evalFlag(tok, "team-flag", body), http.StatusNotFound, "team-flag", toggle.ErrFlagNotFound)
		if keys := bulkKeys(t, e.evalBulk(tok, body, "X-Progressive-Project", "team-a")); !slices.Equal(keys, []string{"static-bool", "team-flag"}) {
			t.Errorf("bulk in team-a: %q", keys)
		}
		if keys := bulkKeys(t, e.evalBulk(tok, body, "X-Progressive-Project", "nope")); len(keys) != 0 {
			t.Errorf("bulk in a project that does not exist: %q", keys)
		}
	}

	// Scoping a token to a project that does not exist, or a non-sdk token
	// to any project, is refused.
	before := e.toggleState()
	p := wantProblem(t, e.do("POST", "/v1/tokens", e.admin, `{"name":"x","kind":"sdk","project":"nope"}`), http.StatusNotFound, problem.TypeNotFound)
	if !strings.Contains(p.Detail, `"nope"`) {
		t.Errorf("detail %q does not name the project", p.Detail)
	}
	wantPointers(t, wantProblem(t, e.do("POST", "/v1/tokens", e.admin, `{"name":"x","kind":"write","project":"team-a"}`), http.StatusBadRequest, problem.TypeValidation), "/project")
	e.wantTogglesUnchanged(before)
}

func TestOFREPAllOn(t *testing.T) {
	e := newEnv(t, openSQLite)
	e.createFixtures()
	setHold(t, e, model.DefaultProject, "checkout", "p99")
	allOn := e.createSDKToken(`{"name":"ci-all-on","kind":"sdk","all_on":true}`)
	body := ctxBody(`"targetingKey":"u1","email":"ann@elsewhere.org"`)

	// Whatever the kill switch, a hold, the rules or the rollout: on_variant;
	// the metadata says when a hold was overridden.
	for _, key := range []string{"kill-bool", "static-bool", "checkout", "by-account"} {
		got := wantFlag(t, e.evalFlag(allOn, key, body), http.StatusOK)
		md := map[string]any{"allOn": true}
		if key == "checkout" {
			md = map[string]any{"allOn": true, "heldBy": "alarm", "alarm": "p99"}
		}
		wantResult(t, key+" all-on", got, `true`, "on", toggle.ReasonStatic, 1, "release", md)
	}
	// Even without the targeting key a split by it needs.
	e.createToggle(model.DefaultProject, `{"key":"split-bool","variants":{"on":true,"off":false},"default_variant":"off","rollout":{"weights":{"on":1,"off":99}}}`)
	wantResult(t, "split all-on", wantFlag(t, e.evalFlag(allOn, "split-bool", ""), http.StatusOK), `true`, "on", toggle.ReasonStatic, 1, "release", map[string]any{"allOn": true})
	// An explicit on_variant of a string toggle.
	e.createToggle(model.DefaultProject, `{"key":"colour","enabled":false,"variants":{"red":"red","blue":"blue"},"default_variant":"red","on_variant":"blue"}`)
	wantResult(t, "string all-on", wantFlag(t, e.evalFlag(allOn, "colour", body), http.StatusOK), `"blue"`, "blue", toggle.ReasonStatic, 1, "release", map[string]any{"allOn": true})
	// A toggle without an on variant evaluates as usual.
	wantResult(t, "theme all-on", wantFlag(t, e.evalFlag(allOn, "theme", body), http.StatusOK), `{"bg":"black","n":2}`, "dark", toggle.ReasonDisabled, 1, "permission", map[string]any{"disabledBy": "kill switch"})

	// A plain sdk token is not affected.
	wantResult(t, "kill-bool plain", wantFlag(t, e.evalFlag(e.sdk, "kill-bool", body), http.StatusOK), `false`, "off", toggle.ReasonDisabled, 1, "release", map[string]any{"disabledBy": "kill switch"})
	wantResult(t, "checkout plain", wantFlag(t, e.evalFlag(e.sdk, "checkout", body), http.StatusOK), `false`, "off", toggle.ReasonDisabled, 1, "release", map[string]any{"heldBy": "alarm", "alarm": "p99"})

	// Bulk: every flag with an on variant is on.
	for key, f := range bulkOf(t, e.evalBulk(allOn, body)) {
		switch key {
		case "theme", "banner", "limit":
			if f.Metadata["allOn"] != nil {
				t.Errorf("bulk %s: allOn without an on variant: %+v", key, f)
			}
		default:
			if f.Metadata["allOn"] != true || f.Reason != toggle.ReasonStatic || f.ErrorCode != "" {
				t.Errorf("bulk %s with an all-on token: %+v", key, f)
			}
		}
	}

	// Only sdk tokens may be all-on.
	before := e.toggleState()
	for _, kind := range []string{"write", "admin"} {
		p := wantProblem(t, e.do("POST", "/v1/tokens", e.admin, `{"name":"x","kind":"`+kind+`","all_on":true}`), http.StatusBadRequest, problem.TypeValidation)
		wantPointers(t, p, "/all_on")
		if !strings.Contains(p.Detail, "sdk") {
			t.Errorf("detail %q does not say all_on is for sdk tokens", p.Detail)
		}
	}
	e.wantTogglesUnchanged(before)
}

func TestOFREPBulk(t *testing.T) {
	e := newEnv(t, openSQLite)
	e.createFixtures()
	blue, _ := splitKeys(t)
	full := ctxBody(`"targetingKey":"` + blue + `","email":"ann@example.com","cart":150,"accountId":"acme"`)

	r := e.evalBulk(e.sdk, full)
	if keys := bulkKeys(t, r); !slices.Equal(keys, fixtureKeys) {
		t.Fatalf("bulk keys %q, want %q", keys, fixtureKeys)
	}
	flags := bulkOf(t, r)
	for _, c := range []struct{ key, value, variant, reason string }{
		{"banner", `"blue"`, "blue", toggle.ReasonSplit},
		{"by-account", `true`, "on", toggle.ReasonSplit},
		{"checkout", `true`, "on", toggle.ReasonTargetingMatch},
		{"kill-bool", `false`, "off", toggle.ReasonDisabled},
		{"limit", `2.5`, "high", toggle.ReasonTargetingMatch},
		{"static-bool", `true`, "on", toggle.ReasonStatic},
		{"theme", `{"bg":"black","n":2}`, "dark", toggle.ReasonDisabled},
	} {
		f := flags[c.key]
		if string(f.Value) != c.value || f.Variant != c.variant || f.Reason != c.reason || f.Metadata["version"] != float64(1) || f.Metadata["kind"] == nil {
			t.Errorf("bulk %s: %+v; want %s %s %s", c.key, f, c.value, c.variant, c.reason)
		}
	}
	if flags["checkout"].Metadata["rule"] != "employees" {
		t.Errorf("bulk checkout metadata %v lacks the rule", flags["checkout"].Metadata)
	}

	// Per-flag errors are inline; the others are still evaluated.
	flags = bulkOf(t, e.evalBulk(e.sdk, ctxBody(`"email":"ann@example.com"`)))
	if len(flags) != len(fixtureKeys) {
		t.Fatalf("bulk without a targeting key: %d flags, want %d", len(flags), len(fixtureKeys))
	}
	if f := flags["banner"]; f.ErrorCode != toggle.ErrTargetingKeyMissing || f.ErrorDetails == "" || f.Value != nil || f.Reason != "" {
		t.Errorf("banner without a targeting key: %+v; want an inline TARGETING_KEY_MISSING", f)
	}
	if f := flags["by-account"]; f.Reason != toggle.ReasonDefault || f.Metadata["defaultReason"] == nil || f.ErrorCode != "" {
		t.Errorf("by-account without accountId: %+v", f)
	}
	if f := flags["checkout"]; f.Reason != toggle.ReasonTargetingMatch || string(f.Value) != "true" {
		t.Errorf("checkout beside an error: %+v", f)
	}
	// An empty project answers an empty list.
	wantJSON(t, e.do("POST", "/v1/projects", e.write, `{"name":"empty"}`), http.StatusCreated, nil)
	r = e.evalBulk(e.admin, full, "X-Progressive-Project", "empty")
	if r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"flags":[]}` {
		t.Errorf("bulk of an empty project: %d %s", r.status, r.body)
	}
}

func TestOFREPBulkETag(t *testing.T) {
	e := newEnv(t, openSQLite)
	e.createFixtures()
	allOn := e.createSDKToken(`{"name":"ci-all-on","kind":"sdk","all_on":true}`)
	ctxA := ctxBody(`"targetingKey":"u1"`)
	ctxB := ctxBody(`"targetingKey":"u2"`)

	first := e.evalBulk(e.sdk, ctxA)
	tag := first.header.Get("ETag")
	if first.status != http.StatusOK || !strings.HasPrefix(tag, `"`) || !strings.HasSuffix(tag, `"`) || len(tag) < 3 {
		t.Fatalf("bulk: %d, ETag %q; want 200 and a strong entity tag", first.status, tag)
	}
	// The same request gets the same tag.
	if again := e.evalBulk(e.sdk, ctxA); again.header.Get("ETag") != tag || string(again.body) != string(first.body) {
		t.Errorf("repeated bulk: ETag %q, want %q", again.header.Get("ETag"), tag)
	}

	notModified := func(what string, r response, tag string) {
		t.Helper()
		if r.status != http.StatusNotModified || len(r.body) != 0 {
			t.Errorf("%s: %d %q; want 304 without a body", what, r.status, r.body)
		}
		if r.header.Get("ETag") != tag {
			t.Errorf("%s: ETag %q, want %q", what, r.header.Get("ETag"), tag)
		}
	}
	notModified("If-None-Match", e.evalBulk(e.sdk, ctxA, "If-None-Match", tag), tag)
	notModified("weak If-None-Match", e.evalBulk(e.sdk, ctxA, "If-None-Match", "W/"+tag), tag)
	notModified("If-None-Match list", e.evalBulk(e.sdk, ctxA, "If-None-Match", `"stale", `+tag), tag)
	notModified("If-None-Match *", e.evalBulk(e.sdk, ctxA, "If-None-Match", "*"), tag)
	if r := e.evalBulk(e.sdk, ctxA, "If-None-Match", `"stale"`); r.status != http.StatusOK || r.header.Get("ETag") != tag || len(bulkKeys(t, r)) != len(fixtureKeys) {
		t.Errorf("another If-None-Match: %d, ETag %q", r.status, r.header.Get("ETag"))
	}

	// Whatever changes the answer changes the tag: the context, the
	// token's kind, its all-on override, the project.
	tags := map[string]string{"sdk, context A": tag}
	for name, r := range map[string]response{
		"sdk, context B":        e.evalBulk(e.sdk, ctxB),
		"write, context A":      e.evalBulk(e.write, ctxA),
		"admin, context A":      e.evalBulk(e.admin, ctxA),
		"all-on, context A":     e.evalBulk(allOn, ctxA),
		"write, project team-a": e.evalBulk(e.write, ctxA, "X-Progressive-Project", "team-a"),
	} {
		tg := r.header.Get("ETag")
		if r.status != http.StatusOK || tg == "" {
			t.Errorf("%s: %d, ETag %q", name, r.status, tg)
		}
		for other, otherTag := range tags {
			if tg == otherTag {
				t.Errorf("%s and %s share the ETag %s", name, other, tg)
			}
		}
		tags[name] = tg
		// And the old tag does not match it.
		switch name {
		case "sdk, context B":
			if r := e.evalBulk(e.sdk, ctxB, "If-None-Match", tag); r.status != http.StatusOK {
				t.Errorf("context B with context A's tag: %d", r.status)
			}
		case "all-on, context A":
			if r := e.evalBulk(allOn, ctxA, "If-None-Match", tag); r.status != http.StatusOK || bulkOf(t, r)["kill-bool"].Metadata["allOn"] != true {
				t.Errorf("all-on with the plain token's tag: %d %s", r.status, r.body)
			}
		}
	}

	// Syncing without a change keeps the tag.
	if err := e.srv.Flags.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	notModified("after an idle sync", e.evalBulk(e.sdk, ctxA, "If-None-Match", tag), tag)

	// A toggle change makes the old tag stale.
	wantJSON(t, e.do("PUT", togglesPath+"/kill-bool", e.write, `{"enabled":true,"variants":{"on":true,"off":false},"default_variant":"on"}`), http.StatusOK, nil)
	r := e.evalBulk(e.sdk, ctxA, "If-None-Match", tag)
	changed := r.header.Get("ETag")
	if r.status != http.StatusOK || changed == "" || changed == tag {
		t.Fatalf("after a PUT: %d, ETag %q (was %q); want 200 and a new tag", r.status, changed, tag)
	}
	if f := bulkOf(t, r)["kill-bool"]; string(f.Value) != "true" || f.Reason != toggle.ReasonStatic || f.Metadata["version"] != float64(2) {
		t.Errorf("kill-bool after the PUT: %+v", f)
	}
	notModified("the new tag", e.evalBulk(e.sdk, ctxA, "If-None-Match", changed), changed)

	// So does a hold, written by the controller, not through the API.
	if f := bulkOf(t, r)["checkout"]; string(f.Value) != "false" || f.Reason != toggle.ReasonDefault {
		t.Fatalf("checkout before the hold: %+v", f)
	}
	setHold(t, e, model.DefaultProject, "checkout", "p99")
	r = e.evalBulk(e.sdk, ctxA, "If-None-Match", changed)
	held := r.header.Get("ETag")
	if r.status != http.StatusOK || held == "" || held == changed || held == tag {
		t.Fatalf("after a hold: %d, ETag %q (was %q); want 200 and a new tag", r.status, held, changed)
	}
	f := bulkOf(t, r)["checkout"]
	wantResult(t, "held in bulk", f, `false`, "off", toggle.ReasonDisabled, 1, "release", map[string]any{"heldBy": "alarm", "alarm": "p99"})
	got := wantFlag(t, e.evalFlag(e.sdk, "checkout", ctxA), http.StatusOK)
	wantResult(t, "held", got, `false`, "off", toggle.ReasonDisabled, 1, "release", map[string]any{"heldBy": "alarm", "alarm": "p99"})
	notModified("the held tag", e.evalBulk(e.sdk, ctxA, "If-None-Match", held), held)

	// A single-flag evaluation ignores If-None-Match.
	if r := e.evalFlag(e.sdk, "static-bool", ctxA, "If-None-Match", "*"); r.status != http.StatusOK {
		t.Errorf("single evaluation with If-None-Match: %d", r.status)
	}
}
