package jsonpath_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/jsonpath"
)

func TestParseValid(t *testing.T) {
	for _, tc := range []struct {
		expr, canonical string
	}{
		{"$", "$"},
		{"$.timestamp", "$.timestamp"},
		{"$.items[*].etag", "$.items[*].etag"},
		{"$.items.*.etag", "$.items[*].etag"},
		{"$['key']", "$.key"},
		{`$["key"]`, "$.key"},
		{"$['a b']", "$['a b']"},
		{`$['it\'s']`, `$['it\'s']`},
		{`$['back\\slash']`, `$['back\\slash']`},
		{`$["say \"hi\""]`, `$['say "hi"']`},
		{"$['']", "$['']"},
		{"$['1abc']", "$['1abc']"},
		{"$.x-request-id", "$.x-request-id"},
		{"$._meta.v2", "$._meta.v2"},
		{"$.données", "$.données"},
		{"$[0]", "$[0]"},
		{"$[10][2]", "$[10][2]"},
		{"$[*]", "$[*]"},
		{"$.*", "$[*]"},
		{"$.a.b.c", "$.a.b.c"},
		{"$['a.b']", "$['a.b']"},
	} {
		p, err := jsonpath.Parse(tc.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.expr, err)
			continue
		}
		if got := p.String(); got != tc.canonical {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.expr, got, tc.canonical)
		}
		again, err := jsonpath.Parse(p.String())
		if err != nil || !again.Equal(p) {
			t.Errorf("Parse(%q) does not round-trip: %v", p.String(), err)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct {
		expr   string
		offset int
		msg    string
	}{
		{"", 0, "empty path"},
		{"a.b", 0, "a path starts with $"},
		{".a", 0, "a path starts with $"},
		{"$.a[", 3, "unterminated bracket"},
		{"$['a'", 1, "unterminated bracket"},
		{"$['a", 1, "unterminated bracket"},
		{`$['a\`, 2, "unterminated string"},
		{`$['a\n']`, 4, `unsupported escape \n`},
		{"$[0", 1, "unterminated bracket"},
		{"$.", 1, "a member name must follow '.'"},
		{"$..a", 1, "recursive descent (..) is not supported"},
		{"$.1a", 2, `unexpected '1' after '.'`},
		{"$.-a", 2, `unexpected '-' after '.'`},
		{"$.a b", 3, `unexpected ' '; expected . or [`},
		{"$a", 1, `unexpected 'a'; expected . or [`},
		{"$[-1]", 2, "negative indexes are not supported"},
		{"$[?(@.a)]", 2, "filter expressions"},
		{"$[1:2]", 3, "slices"},
		{"$[:2]", 2, "slices"},
		{"$[0,1]", 3, "unions"},
		{"$['a','b']", 5, "unions"},
		{"$[]", 2, "empty brackets"},
		{"$[01]", 2, "leading zero"},
		{"$[99999999999999999999]", 2, "too large"},
		{"$[a]", 2, `unexpected 'a' in brackets`},
		{"$[*", 1, "unterminated bracket"},
		{"$[*x]", 3, `unexpected 'x'; expected ]`},
	} {
		_, err := jsonpath.Parse(tc.expr)
		var se *jsonpath.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a *SyntaxError", tc.expr, err)
			continue
		}
		if se.Offset != tc.offset || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("Parse(%q): %q at offset %d, want %q at offset %d", tc.expr, se.Msg, se.Offset, tc.msg, tc.offset)
		}
		if !strings.HasSuffix(err.Error(), "use $.field, $.list[*].field or $['key']") {
			t.Errorf("Parse(%q): error without the hint: %v", tc.expr, err)
		}
	}
}

// The message the brief asks for, verbatim.
func TestParseErrorMessage(t *testing.T) {
	_, err := jsonpath.Parse("$.a[")
	want := `invalid JSONPath "$.a[": unterminated bracket at offset 3; use $.field, $.list[*].field or $['key']`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
}

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDelete(t *testing.T) {
	doc := `{"timestamp":"2024-01-01","id":1,"items":[{"etag":"a","n":1},{"etag":"b","n":2},"scalar"],"m":{"x":1,"y":{"z":2}}}`
	for _, tc := range []struct {
		path, want string
	}{
		{"$", `null`},
		{"$.timestamp", `{"id":1,"items":[{"etag":"a","n":1},{"etag":"b","n":2},"scalar"],"m":{"x":1,"y":{"z":2}}}`},
		{"$.items[*].etag", `{"timestamp":"2024-01-01","id":1,"items":[{"n":1},{"n":2},"scalar"],"m":{"x":1,"y":{"z":2}}}`},
		{"$.items[1]", `{"timestamp":"2024-01-01","id":1,"items":[{"etag":"a","n":1},null,"scalar"],"m":{"x":1,"y":{"z":2}}}`},
		{"$.items[*]", `{"timestamp":"2024-01-01","id":1,"items":[null,null,null],"m":{"x":1,"y":{"z":2}}}`},
		{"$.items", `{"timestamp":"2024-01-01","id":1,"m":{"x":1,"y":{"z":2}}}`},
		{"$.m.*", `{"timestamp":"2024-01-01","id":1,"items":[{"etag":"a","n":1},{"etag":"b","n":2},"scalar"],"m":{}}`},
		{"$.*.z", `{"timestamp":"2024-01-01","id":1,"items":[{"etag":"a","n":1},{"etag":"b","n":2},"scalar"],"m":{"x":1,"y":{"z":2}}}`},
		{"$.m.*.z", `{"timestamp":"2024-01-01","id":1,"items":[{"etag":"a","n":1},{"etag":"b","n":2},"scalar"],"m":{"x":1,"y":{}}}`},
		{"$[*]", `{}`},
		// Locations that do not exist, or of another type, change nothing.
		{"$.missing.deeper", doc},
		{"$.items[7]", doc},
		{"$.items.etag", doc},
		{"$.m[0]", doc},
		{"$.id.x", doc},
	} {
		got := jsonpath.MustParse(tc.path).Delete(decode(t, doc))
		if want := decode(t, tc.want); !reflect.DeepEqual(got, want) {
			b, _ := json.Marshal(got)
			t.Errorf("Delete(%s) = %s, want %s", tc.path, b, tc.want)
		}
	}
}

func TestGet(t *testing.T) {
	v := decode(t, `{"items":[{"etag":"a"},{"etag":"b"},{"other":1}],"n":3}`)
	got := jsonpath.MustParse("$.items[*].etag").Get(v)
	if !reflect.DeepEqual(got, []any{"a", "b"}) {
		t.Fatalf("Get = %v", got)
	}
	if got := jsonpath.MustParse("$.n").Get(v); !reflect.DeepEqual(got, []any{json.Number("3")}) {
		t.Fatalf("Get($.n) = %v", got)
	}
	if got := jsonpath.MustParse("$.none").Get(v); len(got) != 0 {
		t.Fatalf("Get($.none) = %v", got)
	}
}

func TestCoversAndBuild(t *testing.T) {
	concrete := jsonpath.Root().Field("items").Index(3).Field("etag")
	if concrete.String() != "$.items[3].etag" || !concrete.Concrete() || concrete.Len() != 3 {
		t.Fatalf("built %s", concrete)
	}
	for _, tc := range []struct {
		pattern string
		want    bool
	}{
		{"$", true},
		{"$.items", true},
		{"$.items[*]", true},
		{"$.items[3]", true},
		{"$.items[*].etag", true},
		{"$.*[*].etag", true},
		{"$.items[3].etag", true},
		{"$.items[2].etag", false},
		{"$.items[*].id", false},
		{"$.items[3].etag.deeper", false},
		{"$.other", false},
		{"$['items'][3]", true},
	} {
		if got := jsonpath.MustParse(tc.pattern).Covers(concrete); got != tc.want {
			t.Errorf("%s covers %s = %v, want %v", tc.pattern, concrete, got, tc.want)
		}
	}
	if jsonpath.MustParse("$.a[*]").Concrete() {
		t.Error("a wildcard path is not concrete")
	}
	// Building never aliases: two children of one parent stay apart.
	parent := jsonpath.Root().Field("a")
	x, y := parent.Field("x"), parent.Field("y")
	if x.String() != "$.a.x" || y.String() != "$.a.y" || parent.String() != "$.a" {
		t.Fatalf("aliasing: %s %s %s", parent, x, y)
	}
	odd := jsonpath.Root().Field("it's").Field("").Field("a.b")
	if odd.String() != `$['it\'s']['']['a.b']` || !jsonpath.MustParse(odd.String()).Equal(odd) {
		t.Fatalf("odd names: %s", odd)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"$", "$.a", "$.items[*].etag", "$['a b']", `$['it\'s']`, "$[0][1]", "$.*", "$.a[", "$..a",
		"$[?(@.x)]", "$[1:2]", "$.données", `$["q\"uote"]`, "$['\xff']", "$.a-b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := jsonpath.Parse(expr)
		if err != nil {
			var se *jsonpath.SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(expr) {
				t.Fatalf("Parse(%q): bad error %v", expr, err)
			}
			return
		}
		canonical := p.String()
		again, err := jsonpath.Parse(canonical)
		if err != nil {
			t.Fatalf("Parse(%q) ok but its canonical form %q fails: %v", expr, canonical, err)
		}
		if !again.Equal(p) || again.String() != canonical {
			t.Fatalf("Parse(%q): canonical %q parses to %q", expr, canonical, again)
		}
		if !p.Covers(p) && p.Concrete() {
			t.Fatalf("%s does not cover itself", p)
		}
		// Deleting from a document never panics.
		var doc any
		_ = json.Unmarshal([]byte(`{"a":[1,{"b":2}],"items":[{"etag":"x"}],"a b":{"c":[[]]}}`), &doc)
		_ = p.Delete(doc)
		_ = p.Get(doc)
	})
}
