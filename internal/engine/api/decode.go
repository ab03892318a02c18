package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
)

// DefaultMaxBodyBytes bounds request bodies.
const DefaultMaxBodyBytes = 1 << 20

// readBody checks the content type and reads the body up to limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *problem.Problem) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		if ct == "" {
			ct = "none"
		}
		return nil, &problem.Problem{Type: problem.TypeUnsupportedMedia, Title: "Unsupported Media Type", Status: http.StatusUnsupportedMediaType,
			Detail: fmt.Sprintf("the request body must be JSON sent with Content-Type: application/json (got %s)", ct)}
	}
	body, err := io.ReadAll(http.MaxBytesReader(unwrap(w), r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &problem.Problem{Type: problem.TypeTooLarge, Title: "Request Too Large", Status: http.StatusRequestEntityTooLarge,
				Detail: fmt.Sprintf("the request body is larger than the limit of %d bytes", mbe.Limit)}
		}
		return nil, badRequest("the request body could not be read: " + err.Error())
	}
	return body, nil
}

// decode parses one JSON document into v, refusing unknown fields and
// trailing data, and names the offending field as a JSON Pointer.
func decode(body []byte, v any) *problem.Problem {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("the request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeProblem(err)
	}
	if dec.More() {
		return badRequest("the request body holds more than one JSON value; send exactly one object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("the request body has data after the JSON object; send exactly one object")
	}
	return nil
}

func decodeProblem(err error) *problem.Problem {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return badRequest(fmt.Sprintf("the request body is not valid JSON: %s (at byte %d)", syntax.Error(), syntax.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("the request body is not valid JSON: it ends too early")
	case errors.As(err, &typ):
		ptr := "/" + strings.ReplaceAll(typ.Field, ".", "/")
		if typ.Field == "" {
			ptr = ""
		}
		return invalid(model.FieldError{Pointer: ptr, Detail: fmt.Sprintf("expected %s, got a JSON %s", jsonKind(typ.Type.Kind().String()), typ.Value)})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid(model.FieldError{Pointer: "/" + name, Detail: fmt.Sprintf("unknown field %q: check its spelling against the API reference", name)})
	}
	return badRequest("the request body could not be decoded: " + err.Error())
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	}
	return "a number"
}

// unwrap returns the server's own ResponseWriter: MaxBytesReader tells the
// server to close the connection after a too large body only through it.
func unwrap(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}
