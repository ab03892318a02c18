package api

import (
	"net/http"
	"testing"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
)

func TestDecode(t *testing.T) {
	cases := []struct {
		body, typ, pointer string
	}{
		{`{"name":"a","description":"b"}`, "", ""},
		{``, problem.TypeMalformed, ""},
		{`{"name":`, problem.TypeMalformed, ""},
		{`{"name":"a"} {}`, problem.TypeMalformed, ""},
		{`{"name":"a"} x`, problem.TypeMalformed, ""},
		{`{"nme":"a"}`, problem.TypeValidation, "/nme"},
		{`{"name":1}`, problem.TypeValidation, "/name"},
		{`[1]`, problem.TypeValidation, ""},
	}
	for _, c := range cases {
		var v model.ProjectSpec
		p := decode([]byte(c.body), &v)
		switch {
		case c.typ == "" && p != nil:
			t.Errorf("%q: unexpected problem %v", c.body, p)
		case c.typ != "" && p == nil:
			t.Errorf("%q: accepted", c.body)
		case p != nil && p.Type != c.typ:
			t.Errorf("%q: type %s, want %s", c.body, p.Type, c.typ)
		case p != nil && c.pointer != "" && (len(p.Errors) != 1 || p.Errors[0].Pointer != c.pointer):
			t.Errorf("%q: errors %+v, want pointer %s", c.body, p.Errors, c.pointer)
		case p != nil && (p.Status < 400 || p.Status >= 500 || p.Detail == ""):
			t.Errorf("%q: problem %+v is not an actionable 4xx", c.body, p)
		}
	}
}

// FuzzDecode checks that no input makes the decoder panic or answer with
// anything but a 4xx problem that says what is wrong.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"name":"a","description":"b"}`, `{"name":"a"`, `{"x":1}`, `[]`, `null`, `{"name":"\u0000"}`, `{"name":"a"}{}`, "\xff", `{"description":1e999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range []any{&model.ProjectSpec{}, &model.TokenSpec{}} {
			p := decode(body, v)
			if p == nil {
				continue
			}
			if p.Status < http.StatusBadRequest || p.Status >= http.StatusInternalServerError || p.Detail == "" {
				t.Fatalf("decode(%q) = %+v: not an actionable 4xx", body, p)
			}
		}
	})
}
