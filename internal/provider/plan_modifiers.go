package provider

import (
	"context"
	"encoding/json"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

func mustRE(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// defaultFrom plans an unset attribute as another attribute's value (salt
// from key, off_variant from default_variant). It exists so that defaults the
// engine would fill are known at plan time: plans stay stable and apply never
// returns a value the plan did not show.
type defaultFrom struct {
	from path.Path
	why  string
}

func (m defaultFrom) Description(context.Context) string {
	return "defaults to " + m.why
}
func (m defaultFrom) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (m defaultFrom) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if !req.ConfigValue.IsNull() {
		return
	}
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var v types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, m.from, &v)...)
	resp.PlanValue = v
}

// defaultOnVariant plans an unset on_variant as the variant whose value is
// true, or "" for toggles that are not boolean, as the engine would.
type defaultOnVariant struct{}

func (defaultOnVariant) Description(context.Context) string {
	return "defaults to the variant whose value is true"
}
func (m defaultOnVariant) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (defaultOnVariant) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if !req.ConfigValue.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	var variants map[string]jsontypes.Normalized
	if diags := req.Plan.GetAttribute(ctx, path.Root("variants"), &variants); diags.HasError() {
		resp.PlanValue = types.StringUnknown()
		return
	}
	raw := map[string]json.RawMessage{}
	for name, v := range variants {
		if v.IsUnknown() {
			resp.PlanValue = types.StringUnknown()
			return
		}
		raw[name] = json.RawMessage(v.ValueString())
	}
	resp.PlanValue = types.StringValue(model.DefaultOnVariant(raw))
}

// sameDuration keeps the prior value when the configured duration means the
// same time ("300s" and "5m"), so that such a rewrite never shows a diff.
type sameDuration struct{}

func (sameDuration) Description(context.Context) string {
	return "equal durations written differently are no change"
}
func (m sameDuration) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (sameDuration) PlanModifyString(_ context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if req.StateValue.IsNull() || req.StateValue.IsUnknown() || req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	prior, err1 := time.ParseDuration(req.StateValue.ValueString())
	next, err2 := time.ParseDuration(req.ConfigValue.ValueString())
	if err1 == nil && err2 == nil && prior == next {
		resp.PlanValue = req.StateValue
	}
}
