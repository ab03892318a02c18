package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/store"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, nil, &problem.Problem{Type: problem.TypeInternal, Title: "Internal Error", Status: http.StatusInternalServerError, Detail: "the response could not be encoded"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func writeProblem(w http.ResponseWriter, r *http.Request, p *problem.Problem) {
	if r != nil && p.Instance == "" {
		p.Instance = r.URL.Path
	}
	body, _ := json.Marshal(p)
	w.Header().Set("Content-Type", problem.ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}

func badRequest(detail string) *problem.Problem {
	return &problem.Problem{Type: problem.TypeMalformed, Title: "Malformed Request", Status: http.StatusBadRequest, Detail: detail}
}

func invalid(fields ...model.FieldError) *problem.Problem {
	detail := "the request has invalid fields; fix each one listed under errors and send it again"
	if len(fields) == 1 {
		detail = fields[0].Detail
	}
	return &problem.Problem{Type: problem.TypeValidation, Title: "Invalid Request", Status: http.StatusBadRequest, Detail: detail, Errors: fields}
}

func notFound(detail string) *problem.Problem {
	return &problem.Problem{Type: problem.TypeNotFound, Title: "Not Found", Status: http.StatusNotFound, Detail: detail}
}

// fromError turns a store or validation error into a problem. what names the
// object for messages ("project \"team-a\"").
func fromError(err error, what string) *problem.Problem {
	var ve *model.ValidationError
	var exists *store.ExistsError
	var version *store.VersionError
	var p *problem.Problem
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &ve):
		return invalid(ve.Fields...)
	case errors.As(err, &exists):
		return &problem.Problem{Type: problem.TypeExists, Title: "Already Exists", Status: http.StatusConflict,
			Detail: exists.Error() + "; choose another name, or to manage the existing one with Terraform, import it instead of creating it"}
	case errors.As(err, &version):
		return &problem.Problem{Type: problem.TypeVersionConflict, Title: "Version Conflict", Status: http.StatusConflict, CurrentVersion: version.Current,
			Detail: fmt.Sprintf("%s was changed by someone else: you sent If-Match version %d but the current version is %d; read it again, reapply your change and retry", what, version.Given, version.Current)}
	case errors.Is(err, store.ErrNotFound):
		return notFound(capitalize(what) + " does not exist")
	case errors.Is(err, store.ErrNotEmpty):
		return &problem.Problem{Type: problem.TypeConflict, Title: "Not Empty", Status: http.StatusConflict, Detail: err.Error() + "; delete them first"}
	}
	return &problem.Problem{Type: problem.TypeInternal, Title: "Internal Error", Status: http.StatusInternalServerError,
		Detail: "the engine could not complete the request; it is safe to retry, and the engine's log has the cause"}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// etag formats a version as a strong entity tag.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch reads the If-Match header: 0 when absent or "*" (no precondition).
func ifMatch(r *http.Request) (int64, *problem.Problem) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return 0, nil
	}
	v = strings.TrimPrefix(v, "W/")
	v = strings.Trim(v, `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, &problem.Problem{Type: problem.TypeMalformed, Title: "Malformed Request", Status: http.StatusBadRequest,
			Detail: fmt.Sprintf("the If-Match header %q is not a version: send the object's version as a quoted number, for example If-Match: \"3\"", r.Header.Get("If-Match"))}
	}
	return n, nil
}
