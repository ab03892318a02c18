package shadow

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// stdJSON decodes one whole document as encoding/json does with UseNumber.
func stdJSON(b []byte) (any, error) {
	if !json.Valid(b) {
		return nil, errSyntax
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

var jsonSeeds = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e-3`, `-12E+2`, `"x"`, `""`,
	`{"a":1,"b":[1,2,{"c":null}],"d":"e\"f\\g\/h\b\f\n\r\t\u00e9\ud83d\ude00"}`,
	` { "a" : [ 1 , 2 ] } `, `{"a":1,"a":2}`, `[1,]`, `{"a":1,}`, `01`, `1.`, `.5`, `1e`, `-`, `+1`,
	`"\ud800"`, `"\ud800\u0041"`, `"\udc00"`, `"\u12"`, `"\x"`, "\"\x01\"", `[1] [2]`, `{"a"}`, `{"a":}`,
	`tru`, `nul`, `[`, `{`, `"abc`, `{"a":1 "b":2}`, `NaN`, `12345678901234567890123`, "\"caf\xc3\xa9\"",
}

// The fast parser decodes what encoding/json decodes, to the same values,
// and refuses what it refuses.
func TestParseJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range jsonSeeds {
		checkParse(t, []byte(s))
	}
	deep := strings.Repeat("[", maxJSONDepth+2) + strings.Repeat("]", maxJSONDepth+2)
	if _, err := parseJSON([]byte(deep)); err == nil {
		t.Fatal("a document nested too deeply must be refused")
	}
}

func checkParse(t *testing.T, b []byte) {
	t.Helper()
	got, err := parseJSON(b)
	want, stdErr := stdJSON(b)
	if (err == nil) != (stdErr == nil) {
		if stdErr == nil && len(b) > 0 && strings.Count(string(b), "[")+strings.Count(string(b), "{") > maxJSONDepth {
			return // deeper than this parser goes
		}
		t.Fatalf("parseJSON(%q): error %v, encoding/json: %v", b, err, stdErr)
	}
	if err != nil || !utf8.Valid(b) {
		return // encoding/json replaces invalid UTF-8; this parser keeps it
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseJSON(%q) = %#v, encoding/json: %#v", b, got, want)
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkParse(t, b) })
}
