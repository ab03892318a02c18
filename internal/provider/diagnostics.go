package provider

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/problem"
)

// addError explains a failed engine call in the provider's one voice: what
// was attempted, what happened, what to do next, then the original error.
// action reads like "create project \"team-a\"".
func addError(diags *diag.Diagnostics, c *client.Client, action string, err error) {
	var te *client.TransportError
	var p *problem.Problem
	switch {
	case errors.As(err, &te):
		diags.AddError("Engine Unreachable", fmt.Sprintf(
			"Could not %s: the Progressive engine at %s did not answer.\n\n"+
				"Check that `progressive serve` is running and reachable from here, and that the provider's `endpoint` (or PROGRESSIVE_ENDPOINT) points at it.\n\nError: %v",
			action, c.Endpoint(), te.Err))
	case errors.As(err, &p):
		switch p.Type {
		case problem.TypeUnauthenticated:
			diags.AddError("Engine Token Rejected", fmt.Sprintf(
				"Could not %s: the engine at %s rejected the provider's token.\n\n"+
					"Check the provider's `token` (or PROGRESSIVE_TOKEN): it may be mistyped, revoked, or from another engine. "+
					"Create a new one with `progressive token create --kind write --name terraform`.\n\nError: %s", action, c.Endpoint(), p.Detail))
		case problem.TypeForbidden:
			diags.AddError("Engine Token Lacks Permission", fmt.Sprintf(
				"Could not %s: the provider's token is a %q token, and this needs a %q token or stronger.\n\n"+
					"Use a write token: `progressive token create --kind write --name terraform`.\n\nError: %s", action, p.TokenKind, p.RequiredKind, p.Detail))
		case problem.TypeValidation:
			for _, f := range p.Errors {
				diags.AddAttributeError(pointerPath(f.Pointer), "Invalid Value", fmt.Sprintf("Could not %s: %s.", action, f.Detail))
			}
			if len(p.Errors) == 0 {
				diags.AddError("Invalid Value", fmt.Sprintf("Could not %s: %s.", action, p.Detail))
			}
		case problem.TypeExists:
			diags.AddError("Already Exists", fmt.Sprintf(
				"Could not %s: it already exists in the engine, and creating never overwrites.\n\n"+
					"To manage the existing object with Terraform, import it (an `import` block or `terraform import`); or choose another name.\n\nError: %s", action, p.Detail))
		case problem.TypeVersionConflict:
			diags.AddError("Changed Outside Terraform", fmt.Sprintf(
				"Could not %s: someone changed it since Terraform last read it (the engine is at version %d).\n\n"+
					"Run plan again to see the current state, then apply.\n\nError: %s", action, p.CurrentVersion, p.Detail))
		default:
			diags.AddError(p.Title, fmt.Sprintf("Could not %s: the engine answered HTTP %d.\n\nError: %s", action, p.Status, p.Detail))
		}
	default:
		diags.AddError("Engine Call Failed", fmt.Sprintf("Could not %s.\n\nError: %v", action, err))
	}
}

// mapAttributes are the schema's map attributes: a pointer segment after
// one of them is a map key.
var mapAttributes = map[string]bool{"variants": true, "weights": true, "dimensions": true, "headers": true}

// blockNames are the API's plural list names whose schema block is singular
// and repeated (`stage { }` for "stages", `request { }` for a dark launch's
// synthetic "requests").
var blockNames = map[string]string{"stages": "stage", "metrics": "metric", "http_headers": "http_header", "requests": "request"}

// pointerPath turns a JSON Pointer over snake_case names into the matching
// attribute path; the schema uses the same names, but for blockNames.
func pointerPath(ptr string) path.Path {
	p := path.Empty()
	prev := ""
	for _, seg := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		if seg == "" {
			continue
		}
		seg = strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
		n, err := strconv.Atoi(seg)
		switch {
		case mapAttributes[prev]:
			p = p.AtMapKey(seg)
		case err == nil && strconv.Itoa(n) == seg:
			p = p.AtListIndex(n)
		case blockNames[seg] != "":
			p = p.AtName(blockNames[seg])
		default:
			p = p.AtName(seg)
		}
		prev = seg
	}
	return p
}

// addValidationErrors reports the engine's validation rules on attributes,
// but for pointers ending in one of skip (which the schema's own validators
// already report).
func addValidationErrors(diags *diag.Diagnostics, err error, skip ...string) {
	var ve *model.ValidationError
	if !errors.As(err, &ve) {
		diags.AddError("Invalid Configuration", err.Error())
		return
	}
	for _, f := range ve.Fields {
		if slices.ContainsFunc(skip, func(s string) bool { return strings.HasSuffix(f.Pointer, s) }) {
			continue
		}
		diags.AddAttributeError(pointerPath(f.Pointer), "Invalid Value", capitalize(f.Detail)+".")
	}
}

// isNotFound reports whether err says the object does not exist.
func isNotFound(err error) bool { return client.IsType(err, problem.TypeNotFound) }
