// Package ofrep checks the engine's /ofrep/v1 evaluation API through a real
// OpenFeature client: the Node.js server SDK (@openfeature/server-sdk) with
// its OFREP provider (@openfeature/ofrep-provider), pinned in package.json
// and installed by `make tools`. The test starts the engine in-process,
// creates toggles of every value type through the management API, runs
// conformance.mjs over a list of cases and checks what the SDK reports:
// value, variant, reason and error code.
package ofrep

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/api"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/auth"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/snapshot"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store/sqlite"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// toggles are created in the default project, one per behaviour under test.
var toggles = []map[string]any{
	{"key": "dark-mode", "kind": "release",
		"variants": map[string]any{"on": true, "off": false}, "default_variant": "on"},
	{"key": "checkout-copy", "kind": "experiment",
		"variants": map[string]any{"control": "Buy now", "treatment": "Complete purchase"}, "default_variant": "treatment"},
	{"key": "max-items", "kind": "ops",
		"variants": map[string]any{"small": 10, "large": 25.5}, "default_variant": "large"},
	{"key": "banner", "kind": "release",
		"variants": map[string]any{
			"v1": map[string]any{"color": "blue", "size": 2, "tags": []any{"a", "b"}},
			"v2": map[string]any{"color": "red", "size": 3, "tags": []any{}},
		}, "default_variant": "v1"},
	{"key": "legacy-export", "kind": "ops", "enabled": false,
		"variants": map[string]any{"on": true, "off": false}, "default_variant": "on", "off_variant": "off", "on_variant": "on"},
	{"key": "new-checkout", "kind": "release", "description": "employees first",
		"variants": map[string]any{"on": true, "off": false}, "default_variant": "off", "off_variant": "off", "on_variant": "on",
		"rule": []any{map[string]any{"name": "employees", "variant": "on", "condition": []any{
			map[string]any{"attribute": "email", "operator": "ends_with", "values": []any{"@example.com"}},
		}}}},
	{"key": "pricing-experiment", "kind": "experiment",
		"variants": map[string]any{"a": "price-a", "b": "price-b"}, "default_variant": "a",
		"rollout": map[string]any{"weights": map[string]any{"a": 50, "b": 50}, "bucket_by": "targetingKey", "salt": "pricing-experiment"}},
}

// sdkCase is one evaluation through the SDK, as conformance.mjs reads it.
type sdkCase struct {
	Name    string         `json:"name"`
	Type    string         `json:"type"`
	Flag    string         `json:"flag"`
	Default any            `json:"default"`
	Context map[string]any `json:"context"`
	Token   string         `json:"token,omitempty"`
}

// sdkResult is what conformance.mjs prints for a case: the SDK's evaluation details.
type sdkResult struct {
	Name         string         `json:"name"`
	Value        any            `json:"value"`
	Variant      string         `json:"variant"`
	Reason       string         `json:"reason"`
	ErrorCode    string         `json:"errorCode"`
	ErrorMessage string         `json:"errorMessage"`
	FlagMetadata map[string]any `json:"flagMetadata"`
}

// ofrepResult is an OFREP evaluation as the API answers it.
type ofrepResult struct {
	Key     string `json:"key"`
	Value   any    `json:"value"`
	Variant string `json:"variant"`
	Reason  string `json:"reason"`
}

// want is what a case must report; Value is compared after a JSON round
// trip, so numbers are float64 and objects map[string]any.
type want struct {
	Value     any
	Variant   string
	Reason    string
	ErrorCode string
	// Metadata holds entries that flagMetadata must include.
	Metadata map[string]any
}

// splitUsers is how many targeting keys go through the 50/50 rollout.
const splitUsers = 32

func TestOpenFeatureSDK(t *testing.T) {
	node := requireNode(t)
	e := startEngine(t)

	for _, spec := range toggles {
		e.call(t, "POST", "/v1/projects/"+model.DefaultProject+"/toggles", e.admin, spec, http.StatusCreated, nil)
	}
	var sdk, allOn struct {
		Secret string `json:"secret"`
	}
	e.call(t, "POST", "/v1/tokens", e.admin, map[string]any{"name": "ofrep-app", "kind": "sdk"}, http.StatusCreated, &sdk)
	e.call(t, "POST", "/v1/tokens", e.admin, map[string]any{"name": "ofrep-all-on", "kind": "sdk", "all_on": true}, http.StatusCreated, &allOn)
	e.awaitFlag(t, sdk.Secret, "pricing-experiment")

	user := func(key string, attrs ...string) map[string]any {
		c := map[string]any{"targetingKey": key}
		for i := 0; i+1 < len(attrs); i += 2 {
			c[attrs[i]] = attrs[i+1]
		}
		return c
	}
	cases := []sdkCase{
		{Name: "boolean static", Type: "boolean", Flag: "dark-mode", Default: false, Context: user("user-1")},
		{Name: "string static", Type: "string", Flag: "checkout-copy", Default: "fallback", Context: user("user-1")},
		{Name: "number static", Type: "number", Flag: "max-items", Default: -1, Context: user("user-1")},
		{Name: "object static", Type: "object", Flag: "banner", Default: map[string]any{}, Context: user("user-1")},
		{Name: "kill switch", Type: "boolean", Flag: "legacy-export", Default: true, Context: user("user-1")},
		{Name: "rule matches", Type: "boolean", Flag: "new-checkout", Default: false, Context: user("user-1", "email", "ada@example.com")},
		{Name: "rule does not match", Type: "boolean", Flag: "new-checkout", Default: true, Context: user("user-2", "email", "bob@example.org")},
		{Name: "rule without the attribute", Type: "boolean", Flag: "new-checkout", Default: true, Context: user("user-3")},
		{Name: "missing flag", Type: "boolean", Flag: "no-such-flag", Default: true, Context: user("user-1")},
		{Name: "missing flag, string default", Type: "string", Flag: "no-such-flag", Default: "fallback", Context: user("user-1")},
		{Name: "type mismatch", Type: "string", Flag: "dark-mode", Default: "fallback", Context: user("user-1")},
		{Name: "split without a targeting key", Type: "string", Flag: "pricing-experiment", Default: "fallback", Context: map[string]any{"email": "ada@example.com"}},
		// An all-on token gets each toggle's on_variant, whatever its rules.
		{Name: "all-on token", Type: "boolean", Flag: "new-checkout", Default: false, Context: user("user-2", "email", "bob@example.org"), Token: "all_on"},
	}
	wants := map[string]want{
		"boolean static":                {Value: true, Variant: "on", Reason: "STATIC"},
		"string static":                 {Value: "Complete purchase", Variant: "treatment", Reason: "STATIC"},
		"number static":                 {Value: 25.5, Variant: "large", Reason: "STATIC", Metadata: map[string]any{"kind": "ops"}},
		"object static":                 {Value: map[string]any{"color": "blue", "size": 2.0, "tags": []any{"a", "b"}}, Variant: "v1", Reason: "STATIC"},
		"kill switch":                   {Value: false, Variant: "off", Reason: "DISABLED"},
		"rule matches":                  {Value: true, Variant: "on", Reason: "TARGETING_MATCH", Metadata: map[string]any{"rule": "employees", "kind": "release"}},
		"rule does not match":           {Value: false, Variant: "off", Reason: "DEFAULT"},
		"rule without the attribute":    {Value: false, Variant: "off", Reason: "DEFAULT"},
		"missing flag":                  {Value: true, Reason: "ERROR", ErrorCode: "FLAG_NOT_FOUND"},
		"missing flag, string default":  {Value: "fallback", Reason: "ERROR", ErrorCode: "FLAG_NOT_FOUND"},
		"type mismatch":                 {Value: "fallback", Reason: "ERROR", ErrorCode: "TYPE_MISMATCH"},
		"split without a targeting key": {Value: "fallback", Reason: "ERROR", ErrorCode: "TARGETING_KEY_MISSING"},
		"all-on token":                  {Value: true, Variant: "on"},
	}
	// The split: each user twice (sticky), checked against the API below.
	for i := range splitUsers {
		for _, round := range []string{"first", "again"} {
			cases = append(cases, sdkCase{Name: fmt.Sprintf("split user-%d %s", i, round), Type: "string", Flag: "pricing-experiment",
				Default: "fallback", Context: user(fmt.Sprintf("user-%d", i), "email", "someone@example.org")})
		}
	}

	results := runSDK(t, node, e.URL, sdk.Secret, allOn.Secret, cases)

	for _, c := range cases {
		got, ok := results[c.Name]
		if !ok {
			t.Errorf("%s: no result from conformance.mjs", c.Name)
			continue
		}
		w, ok := wants[c.Name]
		if !ok {
			continue // a split case, checked below
		}
		if !reflect.DeepEqual(got.Value, w.Value) {
			t.Errorf("%s: value %#v, want %#v (%+v)", c.Name, got.Value, w.Value, got)
		}
		if got.Variant != w.Variant {
			t.Errorf("%s: variant %q, want %q (%+v)", c.Name, got.Variant, w.Variant, got)
		}
		if w.Reason != "" && got.Reason != w.Reason {
			t.Errorf("%s: reason %q, want %q (%+v)", c.Name, got.Reason, w.Reason, got)
		}
		if got.ErrorCode != w.ErrorCode {
			t.Errorf("%s: error code %q, want %q (%+v)", c.Name, got.ErrorCode, w.ErrorCode, got)
		}
		for k, v := range w.Metadata {
			if got.FlagMetadata[k] != v {
				t.Errorf("%s: flagMetadata[%q] = %#v, want %#v (%+v)", c.Name, k, got.FlagMetadata[k], v, got)
			}
		}
	}

	// The split: sticky per user, both variants in use, and the SDK agrees
	// with the API (single and bulk evaluation) for the same context.
	variants := map[string]string{"a": "price-a", "b": "price-b"}
	seen := map[string]int{}
	for i := range splitUsers {
		name := fmt.Sprintf("split user-%d", i)
		first, again := results[name+" first"], results[name+" again"]
		if first.Reason != "SPLIT" || first.ErrorCode != "" {
			t.Errorf("%s: reason %q, error %q, want SPLIT and no error (%+v)", name, first.Reason, first.ErrorCode, first)
			continue
		}
		if v, ok := variants[first.Variant]; !ok || first.Value != v {
			t.Errorf("%s: variant %q value %#v, want a variant of the rollout and its value", name, first.Variant, first.Value)
		}
		if again.Value != first.Value || again.Variant != first.Variant || again.Reason != first.Reason {
			t.Errorf("%s: not sticky: first %+v, then %+v", name, first, again)
		}
		seen[first.Variant]++
		ctx := map[string]any{"targetingKey": fmt.Sprintf("user-%d", i), "email": "someone@example.org"}
		var direct ofrepResult
		e.call(t, "POST", "/ofrep/v1/evaluate/flags/pricing-experiment", sdk.Secret, map[string]any{"context": ctx}, http.StatusOK, &direct)
		if direct.Value != first.Value || direct.Variant != first.Variant || direct.Reason != first.Reason {
			t.Errorf("%s: the SDK got %v/%s/%s, the API answers %v/%s/%s", name, first.Value, first.Variant, first.Reason, direct.Value, direct.Variant, direct.Reason)
		}
		if i == 0 {
			var bulk struct {
				Flags []ofrepResult `json:"flags"`
			}
			e.callAPIKey(t, "/ofrep/v1/evaluate/flags", sdk.Secret, map[string]any{"context": ctx}, &bulk)
			found := false
			for _, f := range bulk.Flags {
				if f.Key == "pricing-experiment" && f.Value == first.Value && f.Variant == first.Variant && f.Reason == first.Reason {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: bulk evaluation (X-API-Key) has no pricing-experiment entry %v/%s: %+v", name, first.Value, first.Variant, bulk.Flags)
			}
		}
	}
	if len(seen) != 2 {
		t.Errorf("a 50/50 rollout over %d users served only %v", splitUsers, seen)
	}
}

// requireNode returns the path of node, or stops the test when node or the
// SDK's packages are missing.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Unavailable(t, "node and the OpenFeature SDK", "run `make tools`")
	}
	for _, pkg := range []string{"@openfeature/server-sdk", "@openfeature/ofrep-provider"} {
		if _, err := os.Stat(filepath.Join("node_modules", pkg, "package.json")); err != nil {
			testenv.Unavailable(t, "node and the OpenFeature SDK", "run `make tools`")
		}
	}
	return node
}

// runSDK runs conformance.mjs over cases and returns its results by name.
func runSDK(t *testing.T, node, url, sdkToken, allOnToken string, cases []sdkCase) map[string]sdkResult {
	t.Helper()
	file := filepath.Join(t.TempDir(), "cases.json")
	body, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "conformance.mjs", file)
	cmd.Env = append(os.Environ(), "ENGINE_URL="+url, "SDK_TOKEN="+sdkToken, "ALL_ON_TOKEN="+allOnToken)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node conformance.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	results := map[string]sdkResult{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r sdkResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("conformance.mjs printed %q: %v", sc.Text(), err)
		}
		results[r.Name] = r
	}
	if len(results) != len(cases) {
		t.Fatalf("conformance.mjs answered %d of %d cases\nstderr:\n%s", len(results), len(cases), stderr.String())
	}
	return results
}

// engine is a real engine (API over a SQLite store) served in-process.
type engine struct {
	URL   string
	admin string
}

func startEngine(t *testing.T) *engine {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	secret := model.NewTokenSecret()
	tok := model.Token{ID: model.NewTokenID(), Name: "test-admin", Kind: model.TokenAdmin, Hash: model.HashToken(secret),
		Hint: model.TokenHint(secret), CreatedAt: time.Now(), CreatedBy: "test"}
	if err := st.CreateToken(ctx, tok, model.Audit{Actor: "test", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	authn := auth.New(st, hclog.NewNullLogger())
	if err := authn.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// The snapshot that /ofrep/v1 evaluates; the API syncs it after each
	// toggle change, so no poller runs here.
	flags := snapshot.New(st, "", hclog.NewNullLogger())
	if err := flags.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&api.Server{Store: st, Auth: authn, Flags: flags, Version: "test"}).Handler())
	t.Cleanup(srv.Close)
	return &engine{URL: srv.URL, admin: secret}
}

// call sends a JSON request with a bearer token and decodes the answer into
// out (when not nil), failing the test unless the status is status.
func (e *engine) call(t *testing.T, method, path, token string, body any, status int, out any) {
	t.Helper()
	e.send(t, method, path, "Authorization", "Bearer "+token, body, status, out)
}

// callAPIKey posts to an OFREP route with the token in X-API-Key.
func (e *engine) callAPIKey(t *testing.T, path, token string, body, out any) {
	t.Helper()
	e.send(t, "POST", path, "X-API-Key", token, body, http.StatusOK, out)
}

func (e *engine) send(t *testing.T, method, path, authHeader, authValue string, body any, status int, out any) {
	t.Helper()
	code, resp := e.do(t, method, path, authHeader, authValue, body)
	if code != status {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, status, resp)
	}
	if out != nil {
		if err := json.Unmarshal(resp, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, resp)
		}
	}
}

func (e *engine) do(t *testing.T, method, path, authHeader, authValue string, body any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, e.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(authHeader, authValue)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, data
}

// awaitFlag waits until the evaluation API serves key: replicas evaluate
// from a snapshot that may trail the store.
func (e *engine) awaitFlag(t *testing.T, token, key string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	body := map[string]any{"context": map[string]any{"targetingKey": "probe"}}
	for {
		code, resp := e.do(t, "POST", "/ofrep/v1/evaluate/flags/"+key, "Authorization", "Bearer "+token, body)
		if code == http.StatusOK {
			return
		}
		if code != http.StatusNotFound || time.Now().After(deadline) {
			t.Fatalf("evaluating %s: status %d: %s", key, code, resp)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
