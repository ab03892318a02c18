package api

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
)

func render(m map[string]any) string {
	s := ""
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s += fmt.Sprintf("%q=%#v(%T);", k, m[k], m[k])
	}
	return s
}

func checkFlat(t *testing.T, body []byte) {
	fast, ok := flatContext(body)
	if !ok {
		return
	}
	rec := &recW{h: http.Header{}}
	slow, sok := decodeContext(rec, body, "k")
	if !sok {
		t.Fatalf("fast accepted %q, slow rejected: %s", body, rec.b.String())
	}
	if render(fast) != render(slow) {
		t.Fatalf("%q:\nfast %s\nslow %s", body, render(fast), render(slow))
	}
}

var flatSeeds = []string{
	`{"context":{"targetingKey":"user-123","email":"ann@corp.example"}}`,
	`{"context":null}`, `{"context":{}}`, ` { "context" : { "a" : 1 , "b":-0, "c":1e5,"d":1.5E-3,"e":true,"f":false,"g":null,"a":"x"} } `,
	`{"context":{"n":01}}`, `{"context":{"n":1.}}`, `{"context":{"n":.5}}`, `{"context":{"n":-}}`, `{"context":{"n":1e400}}`,
	`{"context":{"n":"a\"b"}}`, `{"context":{"n":"é"}}`, `{"context":{"n":[1]}}`, `{"context":{"n":{"x":1}}}`,
	`{"context":{"a":1,}}`, `{"context":{,}}`, `{"context":{"a":1}}x`, `{"context":{"a":1}},`, `{"Context":{"a":1}}`,
	`{"context":{"a":1},"context":{"b":2}}`, `{"context":1}`, `{"context":"x"}`, `{"context":{"a":nul}}`, `{"context":{"a":truex}}`,
	`{"context":nullx}`, "{\"context\":{\"a\":\"\t\"}}", "\t\r\n{\"context\":{}}\n", `{"context":{"a":1e}}`, `{"context":{"a":1e+}}`, `{"context":{"a":-01}}`,
	`{"context":{"a":0.0e-0}}`, `{"context":{"a":123456789012345678901234567890}}`, `{"context":{"a":2.2250738585072011e-308}}`,
}

func TestTmpFlatSeeds(t *testing.T) {
	n := 0
	for _, s := range flatSeeds {
		if _, ok := flatContext([]byte(s)); ok {
			n++
		}
		checkFlat(t, []byte(s))
	}
	t.Log(n, "of", len(flatSeeds), "took the fast path")
}

func FuzzTmpFlat(f *testing.F) {
	for _, s := range flatSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkFlat(t, body) })
}

func TestTmpFlatRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ws := func() string { return []string{"", "", " ", "\n\t ", "\r"}[r.IntN(5)] }
	digits := func(min int) string {
		s := ""
		for range min + r.IntN(20) {
			s += string(rune('0' + r.IntN(10)))
		}
		return s
	}
	num := func() string {
		s := []string{"", "-"}[r.IntN(2)]
		if r.IntN(3) == 0 {
			s += "0"
		} else {
			s += string(rune('1'+r.IntN(9))) + digits(0)
		}
		if r.IntN(2) == 0 {
			s += "." + digits(1)
		}
		if r.IntN(2) == 0 {
			s += []string{"e", "E"}[r.IntN(2)] + []string{"", "+", "-"}[r.IntN(3)] + digits(3)[:1+r.IntN(3)]
		}
		return s
	}
	str := func() string {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(0x20 + r.IntN(0x60))
			if b[i] == '"' || b[i] == '\\' {
				b[i] = 'q'
			}
		}
		return `"` + string(b) + `"`
	}
	fast := 0
	for range 300000 {
		body := ws() + "{" + ws() + `"context"` + ws() + ":" + ws() + "{"
		for i := range r.IntN(6) {
			if i > 0 {
				body += ws() + ","
			}
			body += ws() + []string{str(), `"k"`}[r.IntN(2)] + ws() + ":" + ws()
			body += []string{str(), num(), num(), "true", "false", "null"}[r.IntN(6)]
		}
		body += ws() + "}" + ws() + "}" + ws()
		if _, ok := flatContext([]byte(body)); ok {
			fast++
		}
		checkFlat(t, []byte(body))
	}
	t.Log(fast, "fast")
}
