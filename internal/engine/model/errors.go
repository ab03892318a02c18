package model

import (
	"strconv"
	"strings"
)

// FieldError says what is wrong with one field and how to fix it.
type FieldError struct {
	// Pointer is a JSON Pointer (RFC 6901) to the field, e.g. "/rule/0/name".
	Pointer string `json:"pointer"`
	// Detail is a sentence a person can act on.
	Detail string `json:"detail"`
}

// ValidationError lists every problem found in one object, so that a caller
// can fix them all at once instead of one per round trip.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Pointer + ": " + f.Detail
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Problems collects field errors while an object is validated.
type Problems struct {
	fields []FieldError
}

// Add records a problem with the field at pointer.
func (p *Problems) Add(pointer, detail string) {
	p.fields = append(p.fields, FieldError{Pointer: pointer, Detail: detail})
}

// Err returns a *ValidationError when problems were recorded, else nil.
func (p *Problems) Err() error {
	if len(p.fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: p.fields}
}

// Pointer builds a JSON Pointer from path segments, escaping "~" and "/".
func Pointer(segments ...any) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		switch v := s.(type) {
		case int:
			b.WriteString(strconv.Itoa(v))
		case string:
			b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(v))
		default:
			panic("model.Pointer: segment must be a string or an int")
		}
	}
	return b.String()
}
