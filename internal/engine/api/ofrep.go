package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

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
	Metadata any             `json:"metadata"` // *ofrepMetadata or map[string]any
}

// ofrepMetadata is the metadata of an evaluation that no hold decided. Its
// fields are in the order of their JSON names, so that it encodes exactly as
// the equivalent map (whose keys encoding/json sorts), without the map.
type ofrepMetadata struct {
	AllOn         bool   `json:"allOn,omitempty"`
	DefaultReason string `json:"defaultReason,omitempty"`
	DisabledBy    string `json:"disabledBy,omitempty"`
	Kind          string `json:"kind"`
	Rule          string `json:"rule,omitempty"`
	Version       int64  `json:"version"`
}

type ofrepFailure struct {
	Key          string `json:"key,omitempty"`
	ErrorCode    string `json:"errorCode"`
	ErrorDetails string `json:"errorDetails,omitempty"`
}

type ofrepBulk struct {
	Flags []any `json:"flags"`
}

// ofrepBuffers recycles response buffers: evaluation is the engine's hot path.
var ofrepBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func writeOFREP(w http.ResponseWriter, status int, v any) {
	buf := ofrepBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	var body []byte
	if success, isSuccess := v.(ofrepSuccess); isSuccess {
		if b, ok := success.appendJSON(buf.AvailableBuffer()); ok {
			buf.Write(b)
			body = buf.Bytes()
		}
	}
	if body == nil {
		_ = json.NewEncoder(buf).Encode(v) // as json.Marshal, plus a newline
		body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	if buf.Cap() <= 64<<10 { // let the odd large bulk answer go
		ofrepBuffers.Put(buf)
	}
}

// appendJSON is json.Marshal's output for the common answer, without
// reflection: metadata without a hold, strings that need no escaping and a
// compact value. It returns false, having appended something or not, for
// any other answer, which json.Marshal then encodes.
func (v ofrepSuccess) appendJSON(b []byte) ([]byte, bool) {
	md, ok := v.Metadata.(*ofrepMetadata)
	if !ok || !plainJSON(v.Key) || !plainJSON(v.Reason) || !plainJSON(v.Variant) || !plainJSON(md.DefaultReason) ||
		!plainJSON(md.DisabledBy) || !plainJSON(md.Kind) || !plainJSON(md.Rule) || !compactJSON(v.Value) {
		return b, false
	}
	b = append(b, `{"key":"`...)
	b = append(b, v.Key...)
	b = append(b, `","value":`...)
	b = append(b, v.Value...)
	b = append(b, `,"reason":"`...)
	b = append(b, v.Reason...)
	b = append(b, `","variant":"`...)
	b = append(b, v.Variant...)
	b = append(b, `","metadata":{`...)
	if md.AllOn {
		b = append(b, `"allOn":true,`...)
	}
	if md.DefaultReason != "" {
		b = append(b, `"defaultReason":"`...)
		b = append(b, md.DefaultReason...)
		b = append(b, `",`...)
	}
	if md.DisabledBy != "" {
		b = append(b, `"disabledBy":"`...)
		b = append(b, md.DisabledBy...)
		b = append(b, `",`...)
	}
	b = append(b, `"kind":"`...)
	b = append(b, md.Kind...)
	b = append(b, `",`...)
	if md.Rule != "" {
		b = append(b, `"rule":"`...)
		b = append(b, md.Rule...)
		b = append(b, `",`...)
	}
	b = append(b, `"version":`...)
	b = strconv.AppendInt(b, md.Version, 10)
	return append(b, "}}"...), true
}

// plainJSON reports whether json.Marshal writes s as is between quotes:
// printable ASCII but for the characters it escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// compactJSON reports whether json.Marshal writes the raw value v as is:
// valid JSON without spaces, escapes or characters it escapes.
func compactJSON(v json.RawMessage) bool {
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		if c <= 0x20 || c > 0x7e || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return json.Valid(v)
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
	ctx, ok := flatContext(body)
	if !ok {
		if ctx, ok = decodeContext(w, body, key); !ok {
			return nil, nil, false
		}
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

// decodeContext decodes any request body with encoding/json.
func decodeContext(w http.ResponseWriter, body []byte, key string) (toggle.Context, bool) {
	var req ofrepRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeOFREP(w, http.StatusBadRequest, ofrepFailure{Key: key, ErrorCode: toggle.ErrParse,
			ErrorDetails: "the request body is not valid JSON: " + err.Error() + `; send {"context": {...}}`})
		return nil, false
	}
	ctx := toggle.Context{}
	raw := bytes.TrimSpace(req.Context)
	if len(raw) == 0 || string(raw) == "null" {
		return ctx, true
	}
	if raw[0] != '{' || json.Unmarshal(raw, (*map[string]any)(&ctx)) != nil {
		writeOFREP(w, http.StatusBadRequest, ofrepFailure{Key: key, ErrorCode: toggle.ErrInvalidContext,
			ErrorDetails: `the evaluation context must be a JSON object, such as {"targetingKey": "user-1", "email": "ann@example.com"}`})
		return nil, false
	}
	return ctx, true
}

// flatContext is decodeContext's fast path, for the body SDKs send:
// {"context": {...}} and no other key, where the context is null or an
// object whose values are strings, numbers, booleans or null, and whose
// strings are printable ASCII without escapes. It decodes that exactly as
// encoding/json would, and returns false for any other body (valid or
// not), which decodeContext then handles.
func flatContext(body []byte) (toggle.Context, bool) {
	p := flatParser{b: body}
	if !p.skip('{') || !p.literal(`"context"`) || !p.skip(':') {
		return nil, false
	}
	ctx := toggle.Context{}
	if !p.literal("null") {
		if !p.skip('{') {
			return nil, false
		}
		for first := true; !p.skip('}'); first = false {
			if !first && !p.skip(',') {
				return nil, false
			}
			k, ok := p.str()
			if !ok || !p.skip(':') {
				return nil, false
			}
			v, ok := p.value()
			if !ok {
				return nil, false
			}
			ctx[k] = v
		}
	}
	if !p.skip('}') {
		return nil, false
	}
	p.space()
	return ctx, p.i == len(p.b)
}

type flatParser struct {
	b []byte
	i int
}

// space skips JSON whitespace.
func (p *flatParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

// skip consumes c after whitespace.
func (p *flatParser) skip(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// literal consumes lit after whitespace.
func (p *flatParser) literal(lit string) bool {
	p.space()
	if bytes.HasPrefix(p.b[p.i:], []byte(lit)) {
		p.i += len(lit)
		return true
	}
	return false
}

// str consumes a string of printable ASCII without escapes.
func (p *flatParser) str() (string, bool) {
	if !p.skip('"') {
		return "", false
	}
	for j := p.i; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			s := string(p.b[p.i:j])
			p.i = j + 1
			return s, true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return "", false
		}
	}
	return "", false
}

// value consumes a string, number, true, false or null.
func (p *flatParser) value() (any, bool) {
	p.space()
	if p.i == len(p.b) {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		return p.str()
	case c == 't' && p.literal("true"):
		return true, true
	case c == 'f' && p.literal("false"):
		return false, true
	case c == 'n' && p.literal("null"):
		return nil, true
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	}
	return nil, false
}

// number consumes a number in JSON's grammar, as a float64.
func (p *flatParser) number() (any, bool) {
	start, b := p.i, p.b
	digits := func() bool {
		j := p.i
		for p.i < len(b) && '0' <= b[p.i] && b[p.i] <= '9' {
			p.i++
		}
		return p.i > j
	}
	if b[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(b) && b[p.i] == '0':
		p.i++
	case !digits():
		return nil, false
	}
	if p.i < len(b) && b[p.i] == '.' {
		p.i++
		if !digits() {
			return nil, false
		}
	}
	if p.i < len(b) && (b[p.i] == 'e' || b[p.i] == 'E') {
		p.i++
		if p.i < len(b) && (b[p.i] == '+' || b[p.i] == '-') {
			p.i++
		}
		if !digits() {
			return nil, false
		}
	}
	f, err := strconv.ParseFloat(string(b[start:p.i]), 64)
	return f, err == nil
}

func readAll(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(unwrap(w), r.Body, limit)
	if r.ContentLength < 0 || r.ContentLength >= limit {
		var b bytes.Buffer
		_, err := b.ReadFrom(body)
		return b.Bytes(), err
	}
	// The size is announced: read into a buffer of that size, one byte more
	// to see the end without growing it.
	b := make([]byte, 0, r.ContentLength+1)
	for {
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

func metadata(t *toggle.Toggle, res toggle.Result) any {
	if res.Hold == nil {
		md := &ofrepMetadata{Version: t.Version, Kind: t.Kind, Rule: res.Rule, AllOn: res.AllOn}
		if res.Reason == toggle.ReasonDisabled {
			md.DisabledBy = "kill switch"
		}
		if res.DefaultBecause != "" {
			md.DefaultReason = "the rollout buckets by " + strconv.Quote(res.DefaultBecause) + ", which the evaluation context lacks"
		}
		return md
	}
	// A hold adds a key named by its kind, so this one stays a map.
	md := map[string]any{"version": t.Version, "kind": t.Kind}
	if res.Rule != "" {
		md["rule"] = res.Rule
	}
	if res.AllOn {
		md["allOn"] = true
	}
	md["heldBy"] = res.Hold.Kind
	md[res.Hold.Kind] = res.Hold.Name
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
