// Package problem is the engine's error format on the wire: RFC 9457
// problem details (application/problem+json), shared by the API that writes
// them and the client that reads them.
package problem

import (
	"fmt"
	"strings"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// Type URIs. They are stable: clients branch on them.
const (
	TypeValidation        = "urn:progressive:problem:validation"
	TypeMalformed         = "urn:progressive:problem:malformed-request"
	TypeUnsupportedMedia  = "urn:progressive:problem:unsupported-media-type"
	TypeTooLarge          = "urn:progressive:problem:request-too-large"
	TypeUnauthenticated   = "urn:progressive:problem:unauthenticated"
	TypeForbidden         = "urn:progressive:problem:forbidden"
	TypeNotFound          = "urn:progressive:problem:not-found"
	TypeMethodNotAllowed  = "urn:progressive:problem:method-not-allowed"
	TypeExists            = "urn:progressive:problem:already-exists"
	TypeVersionConflict   = "urn:progressive:problem:version-conflict"
	TypeConflict          = "urn:progressive:problem:conflict"
	TypeIdempotencyReuse  = "urn:progressive:problem:idempotency-key-reused"
	TypeIdempotencyActive = "urn:progressive:problem:idempotency-key-in-progress"
	TypeUnavailable       = "urn:progressive:problem:unavailable"
	TypeInternal          = "urn:progressive:problem:internal"
)

// Problem is one error response.
type Problem struct {
	Type     string             `json:"type"`
	Title    string             `json:"title"`
	Status   int                `json:"status"`
	Detail   string             `json:"detail,omitempty"`
	Instance string             `json:"instance,omitempty"`
	Errors   []model.FieldError `json:"errors,omitempty"`
	// CurrentVersion is set on version conflicts.
	CurrentVersion int64 `json:"current_version,omitempty"`
	// RequiredKind and TokenKind are set when a token lacks permission.
	RequiredKind string `json:"required_kind,omitempty"`
	TokenKind    string `json:"token_kind,omitempty"`
}

func (p *Problem) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (HTTP %d)", p.Title, p.Status)
	if p.Detail != "" {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	for _, f := range p.Errors {
		fmt.Fprintf(&b, "; %s: %s", f.Pointer, f.Detail)
	}
	return b.String()
}

// Is lets errors.Is match problems by type: errors.Is(err, &Problem{Type: TypeNotFound}).
func (p *Problem) Is(target error) bool {
	t, ok := target.(*Problem)
	return ok && t.Type == p.Type
}
