package provider

import (
	"context"
	"errors"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// modelString applies one of the engine's own validation rules at plan time,
// so that Terraform and the API refuse the same values with the same words.
type modelString struct {
	description string
	check       func(p *model.Problems, value string)
}

var _ validator.String = modelString{}

func (v modelString) Description(context.Context) string         { return v.description }
func (v modelString) MarkdownDescription(context.Context) string { return v.description }

func (v modelString) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	var p model.Problems
	v.check(&p, req.ConfigValue.ValueString())
	var ve *model.ValidationError
	if errors.As(p.Err(), &ve) {
		for _, f := range ve.Fields {
			resp.Diagnostics.AddAttributeError(req.Path, "Invalid Value", capitalize(f.Detail)+".")
		}
	}
}

func nameValidator(what string) validator.String {
	return modelString{
		description: "1 to 63 lower-case letters, digits and hyphens, starting with a letter or digit",
		check:       func(p *model.Problems, v string) { model.ValidateName(p, "", v, what) },
	}
}

func descriptionValidator() validator.String {
	return modelString{
		description: "at most 1024 characters",
		check:       func(p *model.Problems, v string) { model.ValidateDescription(p, "", v) },
	}
}

// capitalize starts a sentence with a capital letter, unless it starts with
// an attribute name ("traffic_percent 5 is …"), which is written as in the
// configuration.
func capitalize(s string) string {
	first, _, _ := strings.Cut(s, " ")
	if s == "" || strings.Contains(first, "_") {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
