package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/toggle"
)

// The OpenFeature Remote Evaluation Protocol (OFREP):
// POST /ofrep/v1/evaluate/flags/{key} and POST /ofrep/v1/evaluate/flags.

// ProjectHeader names the project that admin and write tokens evaluate in;
// sdk tokens evaluate in their own project.
const ProjectHeader = "X-Progressive-Project"

type ofrepRequest struct {
	Context json.RawMessage `json:"context"`
}

type ofrepSuccess struct {
	Key      string          `json:"key"`
	Value    json.RawMessage `json:"value"`
	Reason   string          `json:"reason"`
	Variant  string          `json:"variant"`
	Metadata map[string]any  `json:"metadata"`
}

type ofrepFailure struct {
	Key          string `json:"key,omitempty"`
	ErrorCode    string `json:"errorCode"`
	ErrorDetails string `json:"errorDetails,omitempty"`
}

type ofrepBulk struct {
	Flags []any `json:"flags"`
}

func writeOFREP(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// evaluationProject is where the caller's evaluations happen.
func evaluationProject(r *http.Request) string {
	tok := tokenFrom(r.Context())
	if tok.Kind != model.TokenSDK {
		if p := r.Header.Get(ProjectHeader); p != "" {
			return p
		}
	}
	return tok.EvaluationProject()
}

// ofrepContext reads the request's evaluation context.
func ofrepContext(w http.ResponseWriter, r *http.Request, limit int64, key string) (toggle.Context, []byte, bool) {
	body, err := readAll(w, r, limit)
	if err != nil {
		writeOFREP(w, http.StatusBadRequest, ofrepFailure{Key: key, ErrorCode: toggle.ErrParse, ErrorDetails: err.Error()})
		return nil, nil, false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return toggle.Context{}, body, true
	}
	var req ofrepRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeOFREP(w, http.StatusBadRequest, ofrepFailure{Key: key, ErrorCode: toggle.ErrParse,
			ErrorDetails: "the request body is not valid JSON: " + err.Error() + `; send {"context": {...}}`})
		return nil, nil, false
	}
	ctx := toggle.Context{}
	raw := bytes.TrimSpace(req.Context)
	if len(raw) == 0 || string(raw) == "null" {
		return ctx, body, true
	}
	if raw[0] != '{' || json.Unmarshal(raw, (*map[string]any)(&ctx)) != nil {
		writeOFREP(w, http.StatusBadRequest, ofrepFailure{Key: key, ErrorCode: toggle.ErrInvalidContext,
			ErrorDetails: `the evaluation context must be a JSON object, such as {"targetingKey": "user-1", "email": "ann@example.com"}`})
		return nil, nil, false
	}
	if tk, ok := ctx["targetingKey"]; ok && tk != nil {
		if _, isString := tk.(string); !isString {
			writeOFREP(w, http.StatusBadRequest, ofrepFailure{Key: key, ErrorCode: toggle.ErrInvalidContext,
				ErrorDetails: "targetingKey must be a string"})
			return nil, nil, false
		}
	}
	return ctx, body, true
}

func readAll(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(http.MaxBytesReader(unwrap(w), r.Body, limit))
	return b.Bytes(), err
}

func metadata(t *toggle.Toggle, res toggle.Result) map[string]any {
	md := map[string]any{"version": t.Version, "kind": t.Kind}
	if res.Rule != "" {
		md["rule"] = res.Rule
	}
	if res.AllOn {
		md["allOn"] = true
	}
	if res.Hold != nil {
		md["heldBy"] = res.Hold.Kind
		md[res.Hold.Kind] = res.Hold.Name
	} else if res.Reason == toggle.ReasonDisabled {
		md["disabledBy"] = "kill switch"
	}
	if res.DefaultBecause != "" {
		md["defaultReason"] = "the rollout buckets by " + strconv.Quote(res.DefaultBecause) + ", which the evaluation context lacks"
	}
	return md
}

func (s *Server) evaluateFlag(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	ctx, _, ok := ofrepContext(w, r, s.MaxBodyBytes, key)
	if !ok {
		return
	}
	project := evaluationProject(r)
	t := s.Flags.Current().Toggle(project, key)
	if t == nil {
		writeOFREP(w, http.StatusNotFound, ofrepFailure{Key: key, ErrorCode: toggle.ErrFlagNotFound,
			ErrorDetails: "there is no toggle " + strconv.Quote(key) + " in project " + strconv.Quote(project)})
		return
	}
	res := t.Evaluate(ctx, tokenFrom(r.Context()).AllOn)
	if res.ErrorCode != "" {
		writeOFREP(w, http.StatusBadRequest, ofrepFailure{Key: key, ErrorCode: res.ErrorCode, ErrorDetails: res.ErrorDetails})
		return
	}
	writeOFREP(w, http.StatusOK, ofrepSuccess{Key: key, Value: res.Value, Reason: res.Reason, Variant: res.Variant, Metadata: metadata(t, res)})
}

// evaluateFlags is the bulk evaluation. Its ETag covers everything the answer
// depends on: the store revision (which every spec change and every hold
// bumps), the project, the token's kind and all-on override, and the
// context sent.
func (s *Server) evaluateFlags(w http.ResponseWriter, r *http.Request) {
	ctx, body, ok := ofrepContext(w, r, s.MaxBodyBytes, "")
	if !ok {
		return
	}
	project := evaluationProject(r)
	tok := tokenFrom(r.Context())
	snap := s.Flags.Current()
	d := xxhash.New()
	_, _ = d.WriteString(strconv.FormatInt(snap.Revision, 10) + "\x00" + project + "\x00" + string(tok.Kind) + "\x00" + strconv.FormatBool(tok.AllOn) + "\x00")
	_, _ = d.Write(body)
	tag := `"` + strconv.FormatInt(snap.Revision, 10) + "-" + strconv.FormatUint(d.Sum64(), 36) + `"`
	w.Header().Set("ETag", tag)
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, candidate := range strings.Split(inm, ",") {
			if c := strings.TrimSpace(candidate); c == tag || strings.TrimPrefix(c, "W/") == tag || c == "*" {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
	}
	out := ofrepBulk{Flags: make([]any, 0, len(snap.Keys[project]))}
	for _, key := range snap.Keys[project] {
		t := snap.Toggle(project, key)
		res := t.Evaluate(ctx, tok.AllOn)
		if res.ErrorCode != "" {
			out.Flags = append(out.Flags, ofrepFailure{Key: key, ErrorCode: res.ErrorCode, ErrorDetails: res.ErrorDetails})
			continue
		}
		out.Flags = append(out.Flags, ofrepSuccess{Key: key, Value: res.Value, Reason: res.Reason, Variant: res.Variant, Metadata: metadata(t, res)})
	}
	writeOFREP(w, http.StatusOK, out)
}
