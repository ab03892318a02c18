// Package jsonpath parses a small subset of JSONPath (RFC 9535) and applies
// it to decoded JSON values (the map[string]any, []any, string, float64 or
// json.Number, bool and nil that encoding/json produces).
//
// The subset is what a dark launch needs to name the fields to ignore when
// it compares two responses:
//
//	$               the whole document
//	.name           an object member (letters, digits, '_' and '-'; not starting with a digit or '-')
//	['name']        an object member with any name ("name" works too; \' \" \\ escape)
//	[N]             an array element (N ≥ 0)
//	[*] .*          every member of an object, or every element of an array
//
// Filters, slices, unions, negative indexes and recursive descent (..) are
// refused with a message that says so. Parsing is pure; nothing here does
// I/O.
package jsonpath

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// hint ends every syntax error: the forms that work.
const hint = "use $.field, $.list[*].field or $['key']"

// kind is what one segment selects.
type kind uint8

const (
	member   kind = iota // an object member by name
	index                // an array element by position
	wildcard             // every member or element
)

// segment is one step of a path.
type segment struct {
	kind  kind
	name  string // member
	index int    // index
}

// Path is a parsed JSONPath. The zero value is the root, $. Paths are
// immutable; Field and Index return new ones.
type Path struct {
	segs []segment
}

// Root returns the path $.
func Root() Path { return Path{} }

// SyntaxError says what is wrong with an expression and where.
type SyntaxError struct {
	Expr   string // the expression as given
	Offset int    // byte offset of the problem in Expr
	Msg    string // what is wrong
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSONPath %q: %s at offset %d; %s", e.Expr, e.Msg, e.Offset, hint)
}

// Parse parses expr. The error, a *SyntaxError, names the problem and its
// byte offset.
func Parse(expr string) (Path, error) {
	p := parser{expr: expr}
	return p.parse()
}

// MustParse is Parse for expressions known to be valid; it panics otherwise.
func MustParse(expr string) Path {
	p, err := Parse(expr)
	if err != nil {
		panic(err)
	}
	return p
}

type parser struct {
	expr string
	pos  int
}

func (p *parser) fail(offset int, format string, args ...any) (Path, error) {
	return Path{}, &SyntaxError{Expr: p.expr, Offset: offset, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) parse() (Path, error) {
	if strings.TrimSpace(p.expr) == "" {
		return p.fail(0, "empty path")
	}
	if p.expr[0] != '$' {
		return p.fail(0, "a path starts with $")
	}
	p.pos = 1
	var segs []segment
	for p.pos < len(p.expr) {
		switch c := p.expr[p.pos]; c {
		case '.':
			seg, err := p.dot()
			if err != nil {
				return Path{}, err
			}
			segs = append(segs, seg)
		case '[':
			seg, err := p.bracket()
			if err != nil {
				return Path{}, err
			}
			segs = append(segs, seg)
		default:
			return p.fail(p.pos, "unexpected %s; expected . or [", describe(p.expr[p.pos:]))
		}
	}
	return Path{segs: segs}, nil
}

// dot parses .name or .* at p.pos (which holds the dot).
func (p *parser) dot() (segment, error) {
	start := p.pos
	p.pos++
	if p.pos >= len(p.expr) {
		_, err := p.fail(start, "a member name must follow '.'")
		return segment{}, err
	}
	if p.expr[p.pos] == '.' {
		_, err := p.fail(start, "recursive descent (..) is not supported")
		return segment{}, err
	}
	if p.expr[p.pos] == '*' {
		p.pos++
		return segment{kind: wildcard}, nil
	}
	nameStart := p.pos
	for p.pos < len(p.expr) {
		r, size := utf8.DecodeRuneInString(p.expr[p.pos:])
		if !nameRune(r, p.pos == nameStart) {
			break
		}
		p.pos += size
	}
	if p.pos == nameStart {
		_, err := p.fail(nameStart, "unexpected %s after '.'; a member name starts with a letter or '_' (write ['%s'] for other names)",
			describe(p.expr[p.pos:]), firstRune(p.expr[p.pos:]))
		return segment{}, err
	}
	return segment{kind: member, name: p.expr[nameStart:p.pos]}, nil
}

// nameRune reports whether r may appear in a dotted member name (first:
// at its start).
func nameRune(r rune, first bool) bool {
	switch {
	case r == '_' || unicode.IsLetter(r):
		return true
	case r == utf8.RuneError:
		return false
	case first:
		return false
	default:
		return r == '-' || unicode.IsDigit(r)
	}
}

// bracket parses ['name'], ["name"], [N] or [*] at p.pos (which holds '[').
func (p *parser) bracket() (segment, error) {
	open := p.pos
	p.pos++
	fail := func(offset int, format string, args ...any) (segment, error) {
		_, err := p.fail(offset, format, args...)
		return segment{}, err
	}
	if p.pos >= len(p.expr) {
		return fail(open, "unterminated bracket")
	}
	var seg segment
	switch c := p.expr[p.pos]; {
	case c == '*':
		p.pos++
		seg = segment{kind: wildcard}
	case c == '\'' || c == '"':
		name, err := p.quoted(open)
		if err != nil {
			return segment{}, err
		}
		seg = segment{kind: member, name: name}
	case c >= '0' && c <= '9':
		start := p.pos
		for p.pos < len(p.expr) && p.expr[p.pos] >= '0' && p.expr[p.pos] <= '9' {
			p.pos++
		}
		digits := p.expr[start:p.pos]
		if len(digits) > 1 && digits[0] == '0' {
			return fail(start, "index %s has a leading zero", digits)
		}
		n, err := strconv.Atoi(digits)
		if err != nil || n > 1<<31-1 {
			return fail(start, "index %s is too large", digits)
		}
		seg = segment{kind: index, index: n}
	case c == '-':
		return fail(p.pos, "negative indexes are not supported")
	case c == '?':
		return fail(p.pos, "filter expressions ([?...]) are not supported")
	case c == ':':
		return fail(p.pos, "slices ([a:b]) are not supported")
	case c == ']':
		return fail(p.pos, "empty brackets")
	default:
		return fail(p.pos, "unexpected %s in brackets; expected a quoted name, an index or *", describe(p.expr[p.pos:]))
	}
	if p.pos >= len(p.expr) {
		return fail(open, "unterminated bracket")
	}
	switch p.expr[p.pos] {
	case ']':
		p.pos++
		return seg, nil
	case ',':
		return fail(p.pos, "unions ([a,b]) are not supported")
	case ':':
		return fail(p.pos, "slices ([a:b]) are not supported")
	default:
		return fail(p.pos, "unexpected %s; expected ]", describe(p.expr[p.pos:]))
	}
}

// quoted parses a quoted name at p.pos (which holds the quote); open is the
// offset of the bracket, for errors.
func (p *parser) quoted(open int) (string, error) {
	quote := p.expr[p.pos]
	start := p.pos
	p.pos++
	var b strings.Builder
	for p.pos < len(p.expr) {
		switch c := p.expr[p.pos]; c {
		case quote:
			p.pos++
			return b.String(), nil
		case '\\':
			if p.pos+1 >= len(p.expr) {
				_, err := p.fail(start, "unterminated string")
				return "", err
			}
			switch e := p.expr[p.pos+1]; e {
			case '\'', '"', '\\':
				b.WriteByte(e)
			default:
				_, err := p.fail(p.pos, "unsupported escape \\%c; only \\', \\\" and \\\\ are", e)
				return "", err
			}
			p.pos += 2
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	_, err := p.fail(open, "unterminated bracket")
	return "", err
}

// describe names the next character of rest for an error message.
func describe(rest string) string {
	if rest == "" {
		return "end of path"
	}
	r, _ := utf8.DecodeRuneInString(rest)
	if r == utf8.RuneError {
		return "invalid UTF-8"
	}
	return strconv.QuoteRune(r)
}

func firstRune(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return "…"
	}
	return string(r)
}

// String returns the path in canonical form: members whose names are
// valid after a dot use .name, others ['name'], then [N] and [*]. Parsing
// the result gives the same path.
func (p Path) String() string {
	var b strings.Builder
	b.WriteByte('$')
	for _, s := range p.segs {
		s.write(&b)
	}
	return b.String()
}

func (s segment) write(b *strings.Builder) {
	switch s.kind {
	case wildcard:
		b.WriteString("[*]")
	case index:
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(s.index))
		b.WriteByte(']')
	case member:
		if dottable(s.name) {
			b.WriteByte('.')
			b.WriteString(s.name)
			return
		}
		b.WriteString("['")
		for i := 0; i < len(s.name); i++ {
			if c := s.name[i]; c == '\'' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(s.name[i])
		}
		b.WriteString("']")
	}
}

// dottable reports whether name parses back after a dot.
func dottable(name string) bool {
	if name == "" || !utf8.ValidString(name) {
		return false
	}
	for i, r := range name {
		if !nameRune(r, i == 0) {
			return false
		}
	}
	return true
}

// Len returns the number of segments after $.
func (p Path) Len() int { return len(p.segs) }

// Concrete reports whether the path names at most one location (it has no
// wildcard).
func (p Path) Concrete() bool {
	for _, s := range p.segs {
		if s.kind == wildcard {
			return false
		}
	}
	return true
}

// Field returns p followed by the object member name.
func (p Path) Field(name string) Path { return p.with(segment{kind: member, name: name}) }

// Index returns p followed by the array element i (i ≥ 0).
func (p Path) Index(i int) Path { return p.with(segment{kind: index, index: i}) }

func (p Path) with(s segment) Path {
	segs := make([]segment, len(p.segs), len(p.segs)+1)
	copy(segs, p.segs)
	return Path{segs: append(segs, s)}
}

// Covers reports whether the location q (normally a concrete path) is
// matched by p or lies inside a location that p matches: $.items[*]
// covers $.items[3] and $.items[3].etag, but not $.items.
func (p Path) Covers(q Path) bool {
	if len(q.segs) < len(p.segs) {
		return false
	}
	for i, s := range p.segs {
		t := q.segs[i]
		switch s.kind {
		case wildcard:
			if t.kind == wildcard {
				continue
			}
			// A wildcard matches any member or element.
		case member:
			if t.kind != member || t.name != s.name {
				return false
			}
		case index:
			if t.kind != index || t.index != s.index {
				return false
			}
		}
	}
	return true
}

// Equal reports whether p and q are the same path.
func (p Path) Equal(q Path) bool {
	if len(p.segs) != len(q.segs) {
		return false
	}
	for i := range p.segs {
		if p.segs[i] != q.segs[i] {
			return false
		}
	}
	return true
}

// Delete removes the locations p matches from the decoded JSON value v and
// returns the result. Object members are deleted; array elements are
// replaced by nil (masked), so that the positions of the other elements,
// and therefore the comparison of two arrays, stay aligned; ignore a
// whole list by naming the list itself. Deleting $ returns nil. Maps and
// slices in v are modified in place; a location that does not exist is
// no error.
func (p Path) Delete(v any) any {
	if len(p.segs) == 0 {
		return nil
	}
	deleteIn(v, p.segs)
	return v
}

// deleteIn removes segs[len-1] from every container that segs[:len-1]
// reaches from v.
func deleteIn(v any, segs []segment) {
	s, last := segs[0], len(segs) == 1
	switch c := v.(type) {
	case map[string]any:
		switch s.kind {
		case member:
			child, ok := c[s.name]
			if !ok {
				return
			}
			if last {
				delete(c, s.name)
				return
			}
			deleteIn(child, segs[1:])
		case wildcard:
			if last {
				clear(c)
				return
			}
			for _, child := range c {
				deleteIn(child, segs[1:])
			}
		}
	case []any:
		switch s.kind {
		case index:
			if s.index >= len(c) {
				return
			}
			if last {
				c[s.index] = nil
				return
			}
			deleteIn(c[s.index], segs[1:])
		case wildcard:
			for i := range c {
				if last {
					c[i] = nil
				} else {
					deleteIn(c[i], segs[1:])
				}
			}
		}
	}
}

// Get returns the values at the locations p matches in v, in document
// order for arrays (object members come in no particular order).
func (p Path) Get(v any) []any {
	var out []any
	get(v, p.segs, &out)
	return out
}

func get(v any, segs []segment, out *[]any) {
	if len(segs) == 0 {
		*out = append(*out, v)
		return
	}
	s := segs[0]
	switch c := v.(type) {
	case map[string]any:
		switch s.kind {
		case member:
			if child, ok := c[s.name]; ok {
				get(child, segs[1:], out)
			}
		case wildcard:
			for _, child := range c {
				get(child, segs[1:], out)
			}
		}
	case []any:
		switch s.kind {
		case index:
			if s.index < len(c) {
				get(c[s.index], segs[1:], out)
			}
		case wildcard:
			for _, child := range c {
				get(child, segs[1:], out)
			}
		}
	}
}
