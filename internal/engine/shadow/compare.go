package shadow

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/jsonpath"
)

// IgnoredHeaders are response headers never compared: they differ between
// any two servers or any two responses (Date), follow from the body
// (Content-Length: the body is compared instead, and JSON bodies may be
// equal with other lengths), or belong to the connection, not the
// response (hop-by-hop headers).
var IgnoredHeaders = []string{
	"Date", "Content-Length",
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// RedactedHeaders never show their values in sample diffs, nor do the
// dark launch's strip_headers.
var RedactedHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"}

// Redacted replaces the value of a redacted header in a sample diff.
const Redacted = "[redacted]"

// Absent stands for a header or JSON member that one response lacks.
const Absent = "(absent)"

const (
	// maxFieldDiffs is the number of differing fields a sample lists.
	maxFieldDiffs = 20
	// maxValueBytes is the length at which a value in a sample is cut.
	maxValueBytes = 256
)

// Diff is a sample of a mirrored request whose dark response differed
// from live's beyond the ignore lists and the noise. It names the request
// by method and path only (no query, no headers), and never holds the
// values of redacted headers.
type Diff struct {
	Time   time.Time   `json:"time"`
	Method string      `json:"method"`
	Path   string      `json:"path"`
	Fields []FieldDiff `json:"fields"`
	// Truncated is set when more fields differed than Fields lists.
	Truncated bool `json:"truncated,omitempty"`
}

// FieldDiff is one differing field: the status, a header, a JSON body
// location, or a whole non-JSON body.
type FieldDiff struct {
	// Kind is "status", "header" or "body".
	Kind string `json:"kind"`
	// Name is the header's canonical name, or the JSONPath of a body
	// location ($.items[3].etag); empty for the status and a whole body.
	Name string `json:"name,omitempty"`
	// Live and Dark are the values, cut at 256 bytes (a JSON body
	// location's value as compact JSON), or "(absent)", or "[redacted]".
	Live string `json:"live"`
	Dark string `json:"dark"`
}

// compareResponses returns the fields in which dark differs from live and
// noise, when given, does not: a field where live and noise differ is
// noise. noisy reports that there were differences and all were noise.
func compareResponses(c *compiled, live, dark, noise *response) (fields []FieldDiff, noisy bool) {
	var discounted int
	if live.status != dark.status {
		if noise != nil && noise.status != live.status {
			discounted++
		} else {
			fields = append(fields, FieldDiff{Kind: "status", Live: strconv.Itoa(live.status), Dark: strconv.Itoa(dark.status)})
		}
	}
	headers, n := compareHeaders(c, live, dark, noise)
	fields, discounted = append(fields, headers...), discounted+n
	body, n := compareBodies(c, live, dark, noise)
	fields, discounted = append(fields, body...), discounted+n
	return fields, len(fields) == 0 && discounted > 0
}

func compareHeaders(c *compiled, live, dark, noise *response) (fields []FieldDiff, discounted int) {
	names := make([]string, 0, len(live.header)+len(dark.header))
	for name := range live.header {
		names = append(names, name)
	}
	for name := range dark.header {
		if _, ok := live.header[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if c.ignoreHeaders[http.CanonicalHeaderKey(name)] {
			continue
		}
		lv, lok := headerValue(live.header, name)
		dv, dok := headerValue(dark.header, name)
		if lok == dok && lv == dv {
			continue
		}
		if noise != nil {
			if nv, nok := headerValue(noise.header, name); nok != lok || nv != lv {
				discounted++
				continue
			}
		}
		f := FieldDiff{Kind: "header", Name: name, Live: Absent, Dark: Absent}
		if lok {
			f.Live = cut(lv)
		}
		if dok {
			f.Dark = cut(dv)
		}
		if c.redact[http.CanonicalHeaderKey(name)] {
			if lok {
				f.Live = Redacted
			}
			if dok {
				f.Dark = Redacted
			}
		}
		fields = append(fields, f)
	}
	return fields, discounted
}

func headerValue(h http.Header, name string) (string, bool) {
	v, ok := h[name]
	return strings.Join(v, ", "), ok
}

// compareBodies compares the bodies: decoded as JSON, without the ignored
// paths, when either response says it is JSON and both parse; otherwise
// byte for byte. Bodies cut at MaxCompareBytes are not compared. A gzip
// Content-Encoding is undone first.
func compareBodies(c *compiled, live, dark, noise *response) (fields []FieldDiff, discounted int) {
	if live.truncated || dark.truncated || (noise != nil && noise.truncated) {
		return nil, 0
	}
	lb, db := decodedBody(live), decodedBody(dark)
	if bytes.Equal(lb, db) {
		// Equal bytes are equal documents, with or without ignored paths:
		// spare the decoding.
		return nil, 0
	}
	var nb []byte
	if noise != nil {
		nb = decodedBody(noise)
	}
	if isJSON(live.header) || isJSON(dark.header) {
		lv, lerr := decodeJSON(lb, c.ignorePaths)
		dv, derr := decodeJSON(db, c.ignorePaths)
		if lerr == nil && derr == nil {
			return compareJSON(lv, dv, noise, nb, c.ignorePaths)
		}
	}
	if noise != nil && !bytes.Equal(lb, nb) {
		return nil, 1
	}
	return []FieldDiff{{Kind: "body", Live: cut(string(lb)), Dark: cut(string(db))}}, 0
}

// compareJSON lists the locations where dark differs from live, minus
// those inside a location where noise differs from live.
func compareJSON(live, dark any, noise *response, noiseBody []byte, ignore []jsonpath.Path) (fields []FieldDiff, discounted int) {
	var diffs []jsonDiff
	walkJSON(live, dark, nil, &diffs)
	if len(diffs) == 0 {
		return nil, 0
	}
	slices.SortFunc(diffs, func(x, y jsonDiff) int { return comparePaths(x.at, y.at) })
	if noise != nil {
		nv, err := decodeJSON(noiseBody, ignore)
		if err != nil {
			return nil, len(diffs) // noise's body is not even JSON: all of it varies
		}
		var noisy []jsonDiff
		walkJSON(live, nv, nil, &noisy)
		kept := diffs[:0]
		for _, d := range diffs {
			if slices.ContainsFunc(noisy, func(n jsonDiff) bool { return hasPrefix(d.at, n.at) }) {
				discounted++
			} else {
				kept = append(kept, d)
			}
		}
		diffs = kept
	}
	for _, d := range diffs {
		fields = append(fields, FieldDiff{Kind: "body", Name: toPath(d.at).String(), Live: d.live, Dark: d.dark})
	}
	return fields, discounted
}

// pathKey is one step of a location in a JSON document: a member name, or
// an array index when index ≥ 0.
type pathKey struct {
	name  string
	index int
}

// jsonDiff is one location where two JSON documents differ.
type jsonDiff struct {
	at         []pathKey
	live, dark string
}

// comparePaths orders locations as a document lists them: members by
// name, elements by index, a location before those inside it.
func comparePaths(x, y []pathKey) int {
	for i := range min(len(x), len(y)) {
		a, b := x[i], y[i]
		if a.index != b.index {
			return a.index - b.index
		}
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
	}
	return len(x) - len(y)
}

// hasPrefix reports whether location at is prefix or lies inside it.
func hasPrefix(at, prefix []pathKey) bool {
	return len(at) >= len(prefix) && slices.Equal(at[:len(prefix)], prefix)
}

// walkJSON appends to out every location where a and b differ: a member
// that one object lacks, values of different types or values, arrays of
// different lengths (at the array, not element by element). at is the
// location of a and b. The order of out follows the maps' (random) order.
func walkJSON(a, b any, at []pathKey, out *[]jsonDiff) {
	differ := func(at []pathKey, x, y any, xok, yok bool) {
		d := jsonDiff{at: slices.Clone(at), live: Absent, dark: Absent}
		if xok {
			d.live = jsonValue(x)
		}
		if yok {
			d.dark = jsonValue(y)
		}
		*out = append(*out, d)
	}
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			differ(at, a, b, true, true)
			return
		}
		for k, x := range av {
			y, ok := bv[k]
			switch {
			case ok:
				walkJSON(x, y, append(at, pathKey{name: k, index: -1}), out)
			default:
				differ(append(at, pathKey{name: k, index: -1}), x, nil, true, false)
			}
		}
		for k, y := range bv {
			if _, ok := av[k]; !ok {
				differ(append(at, pathKey{name: k, index: -1}), nil, y, false, true)
			}
		}
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			differ(at, a, b, true, true)
			return
		}
		for i := range av {
			walkJSON(av[i], bv[i], append(at, pathKey{index: i}), out)
		}
	case json.Number:
		if bv, ok := b.(json.Number); !ok || !numbersEqual(av, bv) {
			differ(at, a, b, true, true)
		}
	default: // string, bool, nil
		if a != b {
			differ(at, a, b, true, true)
		}
	}
}

func toPath(at []pathKey) jsonpath.Path {
	p := jsonpath.Root()
	for _, k := range at {
		if k.index >= 0 {
			p = p.Index(k.index)
		} else {
			p = p.Field(k.name)
		}
	}
	return p
}

// numbersEqual compares JSON numbers by value: 1, 1.0 and 1e0 are equal.
// Integers compare exactly at any size, other numbers as float64.
func numbersEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	if x, err := a.Int64(); err == nil {
		if y, err := b.Int64(); err == nil {
			return x == y
		}
	}
	if isInteger(a) && isInteger(b) {
		x, xok := new(big.Int).SetString(string(a), 10)
		y, yok := new(big.Int).SetString(string(b), 10)
		if xok && yok {
			return x.Cmp(y) == 0
		}
	}
	x, err1 := strconv.ParseFloat(string(a), 64)
	y, err2 := strconv.ParseFloat(string(b), 64)
	return err1 == nil && err2 == nil && x == y
}

func isInteger(n json.Number) bool {
	s := strings.TrimPrefix(string(n), "-")
	return s != "" && len(s) <= 1000 && strings.Trim(s, "0123456789") == ""
}

// decodeJSON decodes one JSON document (numbers as json.Number) and removes
// the ignored paths.
func decodeJSON(b []byte, ignore []jsonpath.Path) (any, error) {
	v, err := parseJSON(b)
	if err != nil {
		return nil, err
	}
	for _, p := range ignore {
		v = p.Delete(v)
	}
	return v, nil
}

// isJSON reports whether the Content-Type is application/json or a
// +json type, parameters aside.
func isJSON(h http.Header) bool {
	mt, _, _ := strings.Cut(h.Get("Content-Type"), ";")
	mt = strings.TrimSpace(mt)
	return strings.EqualFold(mt, "application/json") ||
		(len(mt) > 5 && strings.EqualFold(mt[len(mt)-5:], "+json") && strings.Contains(mt, "/"))
}

// decodedBody returns r's body with a gzip Content-Encoding undone; a body
// that does not decode, or would grow more than 32 times, stays as it
// came.
func decodedBody(r *response) []byte {
	if !strings.EqualFold(strings.TrimSpace(r.header.Get("Content-Encoding")), "gzip") || len(r.body) == 0 {
		return r.body
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.body))
	if err != nil {
		return r.body
	}
	limit := int64(32 * len(r.body))
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil || int64(len(out)) > limit {
		return r.body
	}
	return out
}

// jsonValue renders a decoded JSON value for a sample.
func jsonValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return cut(string(b))
}

// cut shortens s to maxValueBytes (on a rune boundary, with an ellipsis)
// and replaces invalid UTF-8.
func cut(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxValueBytes {
		return s
	}
	n := maxValueBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
