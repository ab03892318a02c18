package model_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// fields returns the field errors in err, failing the test when err is not
// a *model.ValidationError.
func fields(t *testing.T, err error) []model.FieldError {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *model.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *model.ValidationError", err, err)
	}
	if len(ve.Fields) == 0 {
		t.Fatal("a *model.ValidationError with no fields")
	}
	return ve.Fields
}

// problems runs one Validate* helper and returns what it recorded.
func problems(t *testing.T, f func(p *model.Problems)) []model.FieldError {
	t.Helper()
	var p model.Problems
	f(&p)
	return fields(t, p.Err())
}

// actionable fails unless detail tells the reader what to do: every message
// must carry one of the words that says how to fix the value.
func actionable(t *testing.T, detail string) {
	t.Helper()
	for _, w := range []string{"use ", "shorten", "re-encode", "may contain only", "is required"} {
		if strings.Contains(detail, w) {
			return
		}
	}
	t.Errorf("message %q does not say what to do", detail)
}

func TestProblemsEmptyIsNil(t *testing.T) {
	var p model.Problems
	if err := p.Err(); err != nil {
		t.Fatalf("Err() with no problems = %v, want nil", err)
	}
}

func TestValidateName(t *testing.T) {
	max := "a" + strings.Repeat("b", 62)
	tests := []struct {
		name    string
		value   string
		wantErr string // substring of the detail; "" for valid
	}{
		{"single letter", "a", ""},
		{"single digit", "7", ""},
		{"hyphenated", "checkout-team", ""},
		{"digit first", "0-team", ""},
		{"trailing hyphen", "team-", ""},
		{"63 chars", max, ""},
		{"empty", "", "the project name is required"},
		{"upper case", "A", `the project name "A" is not valid`},
		{"mixed case", "Checkout", `"Checkout" is not valid`},
		{"leading hyphen", "-a", `"-a" is not valid`},
		{"underscore", "a_b", `"a_b" is not valid`},
		{"space", "a b", `"a b" is not valid`},
		{"dot", "a.b", `"a.b" is not valid`},
		{"slash", "a/b", `"a/b" is not valid`},
		{"64 chars", max + "c", "is not valid"},
		{"unicode", "café", "is not valid"},
		{"unicode letter only", "ü", "is not valid"},
		{"newline", "a\n", "is not valid"},
	}
	if len(max) != 63 {
		t.Fatalf("test setup: max is %d long", len(max))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(t, func(p *model.Problems) { model.ValidateName(p, "/name", tt.value, "project name") })
			if tt.wantErr == "" {
				if len(got) != 0 {
					t.Fatalf("ValidateName(%q) = %v, want no problems", tt.value, got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("ValidateName(%q) = %v, want exactly one problem", tt.value, got)
			}
			if got[0].Pointer != "/name" {
				t.Errorf("pointer = %q, want /name", got[0].Pointer)
			}
			if !strings.Contains(got[0].Detail, tt.wantErr) {
				t.Errorf("detail = %q, want it to contain %q", got[0].Detail, tt.wantErr)
			}
			actionable(t, got[0].Detail)
			if tt.value != "" {
				// The fix: the rule and an example to copy.
				for _, want := range []string{"use 1 to 63 lower-case letters, digits and hyphens", "starting with a letter or digit", `"checkout-team"`} {
					if !strings.Contains(got[0].Detail, want) {
						t.Errorf("detail = %q, want it to contain %q", got[0].Detail, want)
					}
				}
			}
		})
	}
}

// The "what" argument names the thing in the message, and the pointer is
// passed through unchanged.
func TestValidateNameWhatAndPointer(t *testing.T) {
	got := problems(t, func(p *model.Problems) { model.ValidateName(p, "/rule/3/name", "Bad", "rule name") })
	if len(got) != 1 || got[0].Pointer != "/rule/3/name" || !strings.HasPrefix(got[0].Detail, `the rule name "Bad" is not valid`) {
		t.Fatalf("got %+v", got)
	}
}

// A very long invalid name is shortened in the message rather than echoed
// in full.
func TestValidateNameLongValueIsTruncatedInMessage(t *testing.T) {
	long := strings.Repeat("X", 500)
	got := problems(t, func(p *model.Problems) { model.ValidateName(p, "/name", long, "project name") })
	if len(got) != 1 {
		t.Fatalf("got %v", got)
	}
	if strings.Contains(got[0].Detail, long) {
		t.Errorf("the message repeats the whole %d-character value", len(long))
	}
	if !strings.Contains(got[0].Detail, `..."`) {
		t.Errorf("detail = %q, want the value shortened with ...", got[0].Detail)
	}
}

func TestValidateDescription(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  []string // substrings of the one detail; nil for valid
	}{
		{"empty", "", nil},
		{"short", "the checkout team's things", nil},
		{"1024 ascii", strings.Repeat("a", 1024), nil},
		// 1024 characters of 3 bytes each: the limit counts characters, not bytes.
		{"1024 multibyte", strings.Repeat("€", 1024), nil},
		{"1024 four-byte", strings.Repeat("😀", 1024), nil},
		{"1025 ascii", strings.Repeat("a", 1025), []string{"1025", "1024", "shorten"}},
		{"1025 multibyte", strings.Repeat("€", 1025), []string{"1025", "1024", "shorten"}},
		{"invalid utf-8", "ok \xff\xfe bytes", []string{"UTF-8"}},
		{"truncated rune", "€"[:2], []string{"UTF-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(t, func(p *model.Problems) { model.ValidateDescription(p, "/description", tt.value) })
			if tt.want == nil {
				if len(got) != 0 {
					t.Fatalf("ValidateDescription(%d runes) = %v, want no problems", utf8.RuneCountInString(tt.value), got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %v, want exactly one problem", got)
			}
			if got[0].Pointer != "/description" {
				t.Errorf("pointer = %q, want /description", got[0].Pointer)
			}
			for _, w := range tt.want {
				if !strings.Contains(got[0].Detail, w) {
					t.Errorf("detail = %q, want it to contain %q", got[0].Detail, w)
				}
			}
			actionable(t, got[0].Detail)
		})
	}
}

// A description that is both too long and not UTF-8 gets both problems.
func TestValidateDescriptionTooLongAndInvalid(t *testing.T) {
	got := problems(t, func(p *model.Problems) {
		model.ValidateDescription(p, "/description", strings.Repeat("a", 1100)+"\xff")
	})
	if len(got) != 2 {
		t.Fatalf("got %v, want the length and the encoding problem", got)
	}
	if !strings.Contains(got[0].Detail, "1101") || !strings.Contains(got[1].Detail, "UTF-8") {
		t.Errorf("got %v", got)
	}
}

func TestProjectSpecValidate(t *testing.T) {
	if err := (model.ProjectSpec{Name: "checkout-team", Description: "payments"}).Validate(); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	if err := (model.ProjectSpec{Name: model.DefaultProject}).Validate(); err != nil {
		t.Fatalf("the default project's own name is refused: %v", err)
	}

	// Every problem at once, each at its own pointer.
	err := model.ProjectSpec{Name: "Bad_Name", Description: strings.Repeat("x", 2000)}.Validate()
	got := fields(t, err)
	if len(got) != 2 {
		t.Fatalf("got %v, want two problems", got)
	}
	if got[0].Pointer != "/name" || !strings.Contains(got[0].Detail, `the project name "Bad_Name" is not valid`) {
		t.Errorf("first problem = %+v, want the name at /name", got[0])
	}
	if got[1].Pointer != "/description" || !strings.Contains(got[1].Detail, "2000") {
		t.Errorf("second problem = %+v, want the description at /description", got[1])
	}
	for _, f := range got {
		actionable(t, f.Detail)
	}

	got = fields(t, model.ProjectSpec{Description: "\xff"}.Validate())
	if len(got) != 2 || got[0].Pointer != "/name" || !strings.Contains(got[0].Detail, "required") || got[1].Pointer != "/description" {
		t.Errorf("empty name and bad description: got %v", got)
	}
}

func TestTokenSpecValidate(t *testing.T) {
	for _, k := range []model.TokenKind{model.TokenAdmin, model.TokenWrite, model.TokenSDK} {
		if err := (model.TokenSpec{Name: "ci", Kind: k}).Validate(); err != nil {
			t.Errorf("kind %q: %v", k, err)
		}
		if !k.Valid() {
			t.Errorf("%q.Valid() = false", k)
		}
	}
	if len(model.TokenKinds) != 4 {
		t.Errorf("TokenKinds = %v, want the four kinds", model.TokenKinds)
	}
	if err := (model.TokenSpec{Name: "proxy", Kind: model.TokenShadow, Project: "chat", DarkLaunches: []string{"chat-backend"}}).Validate(); err != nil {
		t.Errorf("shadow token: %v", err)
	}
	for _, bad := range []model.TokenSpec{
		{Name: "proxy", Kind: model.TokenShadow},
		{Name: "ci", Kind: model.TokenWrite, DarkLaunches: []string{"chat-backend"}},
		{Name: "proxy", Kind: model.TokenShadow, DarkLaunches: []string{"Not A Name"}},
	} {
		if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "/dark_launches") {
			t.Errorf("%+v: %v, want a /dark_launches error", bad, err)
		}
	}
	tok := model.Token{Kind: model.TokenShadow, Project: "chat", DarkLaunches: []string{"chat-backend"}}
	if !tok.ServesDarkLaunch("chat", "chat-backend") || tok.ServesDarkLaunch("chat", "other") || tok.ServesDarkLaunch("default", "chat-backend") {
		t.Errorf("shadow token scope is wrong")
	}
	for _, k := range model.TokenKinds {
		if !k.Valid() {
			t.Errorf("TokenKinds holds %q, which is not Valid", k)
		}
	}

	for _, kind := range []model.TokenKind{"", "root", "Admin", "ADMIN", " sdk"} {
		t.Run(string(kind), func(t *testing.T) {
			if kind.Valid() {
				t.Fatalf("%q.Valid() = true", kind)
			}
			got := fields(t, model.TokenSpec{Name: "ci", Kind: kind}.Validate())
			if len(got) != 1 || got[0].Pointer != "/kind" {
				t.Fatalf("got %v, want one problem at /kind", got)
			}
			d := got[0].Detail
			for _, w := range []string{"admin", "write", "sdk", "use "} {
				if !strings.Contains(d, w) {
					t.Errorf("detail = %q, want it to name %q", d, w)
				}
			}
			if !strings.Contains(d, `"`+string(kind)+`"`) {
				t.Errorf("detail = %q, want it to quote the kind given", d)
			}
		})
	}

	// Name and kind together.
	got := fields(t, model.TokenSpec{Name: "", Kind: "root"}.Validate())
	if len(got) != 2 || got[0].Pointer != "/name" || got[1].Pointer != "/kind" {
		t.Fatalf("got %v, want /name and /kind", got)
	}
	if !strings.Contains(got[0].Detail, "token name") {
		t.Errorf("detail = %q, want it to say token name", got[0].Detail)
	}
}

func TestValidateTokenSecret(t *testing.T) {
	ok32 := strings.Repeat("k", model.MinTokenLength)
	tests := []struct {
		name   string
		secret string
		want   []string // substrings, one per expected problem; nil for valid
	}{
		{"exactly minimum", ok32, nil},
		{"generated", model.NewTokenSecret(), nil},
		{"punctuation", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" + ok32, nil},
		{"empty", "", []string{"0 characters long; use at least 32"}},
		{"too short", "prog_short", []string{"10 characters long; use at least 32 random characters (for example the output of `openssl rand -base64 32`)"}},
		{"one short", ok32[1:], []string{"31 characters long"}},
		{"space", ok32 + " x", []string{"printable ASCII characters without spaces"}},
		{"tab", ok32 + "\t", []string{"without spaces"}},
		{"newline", ok32 + "\n", []string{"without spaces"}},
		{"DEL", ok32 + "\x7f", []string{"printable ASCII"}},
		{"non-ascii", ok32 + "é", []string{"printable ASCII"}},
		{"short and spaced", "a b", []string{"3 characters long", "printable ASCII"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := model.ValidateTokenSecret(tt.secret)
			got := fields(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("ValidateTokenSecret(%q) = %v, want %d problems", tt.secret, err, len(tt.want))
			}
			for i, w := range tt.want {
				if got[i].Pointer != "/token" {
					t.Errorf("pointer = %q, want /token", got[i].Pointer)
				}
				if !strings.Contains(got[i].Detail, w) {
					t.Errorf("detail = %q, want it to contain %q", got[i].Detail, w)
				}
				actionable(t, got[i].Detail)
			}
			if tt.want != nil && strings.Contains(err.Error(), tt.secret) && len(tt.secret) > 3 {
				t.Errorf("the error %q repeats the secret", err)
			}
		})
	}
}

var secretRE = regexp.MustCompile(`^prog_[A-Za-z0-9_-]{43}$`)

func TestNewTokenSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s := model.NewTokenSecret()
		if !strings.HasPrefix(s, model.TokenPrefix) {
			t.Fatalf("%q lacks the prefix %q", s, model.TokenPrefix)
		}
		// 32 random bytes in unpadded base64url are 43 characters.
		if len(s) != len(model.TokenPrefix)+43 || !secretRE.MatchString(s) {
			t.Fatalf("%q is not the prefix and 43 base64url characters", s)
		}
		if err := model.ValidateTokenSecret(s); err != nil {
			t.Fatalf("a generated secret fails validation: %v", err)
		}
		if seen[s] {
			t.Fatalf("NewTokenSecret repeated %q", s)
		}
		seen[s] = true
	}
}

func TestNewTokenID(t *testing.T) {
	re := regexp.MustCompile(`^tok_[0-9a-f]{16}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := model.NewTokenID()
		if !re.MatchString(id) {
			t.Fatalf("id %q is not tok_ and 16 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("NewTokenID repeated %q", id)
		}
		seen[id] = true
	}
}

func TestHashToken(t *testing.T) {
	// sha256("abc"), from FIPS 180-2.
	if got, want := model.HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Fatalf("HashToken(abc) = %s, want %s", got, want)
	}
	s := model.NewTokenSecret()
	h := model.HashToken(s)
	sum := sha256.Sum256([]byte(s))
	if h != hex.EncodeToString(sum[:]) {
		t.Fatalf("HashToken is not the hex SHA-256 of the secret")
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(h) {
		t.Fatalf("hash %q is not 64 lower-case hex digits", h)
	}
	if model.HashToken(s) != h {
		t.Fatal("HashToken is not stable")
	}
	if model.HashToken(s+"x") == h {
		t.Fatal("different secrets share a hash")
	}
	if strings.Contains(h, strings.TrimPrefix(s, model.TokenPrefix)) {
		t.Fatal("the hash contains the secret")
	}
}

func TestTokenHint(t *testing.T) {
	tests := []struct{ secret, want string }{
		{"prog_abcdefghijklmnop", "prog_abcd…"},
		{"prog_abcd", "prog_abcd…"},
		{"prog_ab", "prog_ab…"},
		{"prog_", "prog_…"},
		{"", "prog_…"},
		// An operator's bootstrap secret need not carry the prefix.
		{"zyxwvutsrqponmlkjihgfedcba012345", "prog_zyxw…"},
	}
	for _, tt := range tests {
		if got := model.TokenHint(tt.secret); got != tt.want {
			t.Errorf("TokenHint(%q) = %q, want %q", tt.secret, got, tt.want)
		}
	}
	for range 200 {
		s := model.NewTokenSecret()
		h := model.TokenHint(s)
		if !strings.HasPrefix(h, model.TokenPrefix) || !strings.HasSuffix(h, "…") {
			t.Fatalf("hint %q is not prefix + up to 4 characters + …", h)
		}
		shown := strings.TrimSuffix(strings.TrimPrefix(h, model.TokenPrefix), "…")
		if n := utf8.RuneCountInString(shown); n > 4 {
			t.Fatalf("hint %q reveals %d characters of the secret", h, n)
		}
		if want := model.TokenPrefix + s[len(model.TokenPrefix):len(model.TokenPrefix)+4] + "…"; h != want {
			t.Fatalf("TokenHint(%q) = %q, want %q", s, h, want)
		}
	}
	// Whatever the secret holds, no more than four characters are shown.
	if h := model.TokenHint("prog_" + strings.Repeat("é", 40)); utf8.RuneCountInString(strings.TrimPrefix(h, model.TokenPrefix)) > 5 {
		t.Fatalf("hint %q reveals more than four characters", h)
	}
}

func TestPointer(t *testing.T) {
	tests := []struct {
		segments []any
		want     string
	}{
		{nil, ""},
		{[]any{"name"}, "/name"},
		{[]any{"rule", 0, "condition", 12, "operator"}, "/rule/0/condition/12/operator"},
		{[]any{-1}, "/-1"},
		{[]any{""}, "/"},
		{[]any{"a/b"}, "/a~1b"},
		{[]any{"m~n"}, "/m~0n"},
		// "~1" in a key must not read back as "/": "~" is escaped first.
		{[]any{"~1"}, "/~01"},
		{[]any{"/~"}, "/~1~0"},
		{[]any{"labels", "team/owner", 3}, "/labels/team~1owner/3"},
	}
	for _, tt := range tests {
		if got := model.Pointer(tt.segments...); got != tt.want {
			t.Errorf("Pointer(%#v) = %q, want %q", tt.segments, got, tt.want)
		}
	}
}

func TestPointerRejectsOtherTypes(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("Pointer(3.5) did not panic")
		}
		if s, _ := r.(string); !strings.Contains(s, "string or an int") {
			t.Fatalf("panic %v does not say which types are allowed", r)
		}
	}()
	model.Pointer("a", 3.5)
}

func TestValidationErrorLists(t *testing.T) {
	var p model.Problems
	p.Add("/name", "the project name is required")
	p.Add(model.Pointer("rule", 1, "a/b"), "use a smaller value")
	p.Add("/description", "shorten it")
	err := p.Err()
	want := "invalid input: /name: the project name is required; /rule/1/a~1b: use a smaller value; /description: shorten it"
	if err == nil || err.Error() != want {
		t.Fatalf("Error() = %v, want %q", err, want)
	}
	got := fields(t, err)
	if len(got) != 3 || got[1].Pointer != "/rule/1/a~1b" {
		t.Fatalf("fields = %v", got)
	}

	// Every field of a real validation shows up in the text.
	err = model.ProjectSpec{Name: "X", Description: "\xff"}.Validate()
	for _, f := range fields(t, err) {
		if !strings.Contains(err.Error(), f.Pointer+": "+f.Detail) {
			t.Errorf("Error() = %q lacks %s", err, f.Pointer)
		}
	}
}
