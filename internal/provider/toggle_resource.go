package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

var (
	_ resource.Resource                   = (*toggleResource)(nil)
	_ resource.ResourceWithConfigure      = (*toggleResource)(nil)
	_ resource.ResourceWithImportState    = (*toggleResource)(nil)
	_ resource.ResourceWithValidateConfig = (*toggleResource)(nil)
)

// NewToggleResource returns the progressive_feature_toggle resource.
func NewToggleResource() resource.Resource { return &toggleResource{} }

type toggleResource struct {
	data *providerData
}

type toggleModel struct {
	ID              types.String                    `tfsdk:"id"`
	Project         types.String                    `tfsdk:"project"`
	Key             types.String                    `tfsdk:"key"`
	Description     types.String                    `tfsdk:"description"`
	Kind            types.String                    `tfsdk:"kind"`
	Enabled         types.Bool                      `tfsdk:"enabled"`
	Variants        map[string]jsontypes.Normalized `tfsdk:"variants"`
	DefaultVariant  types.String                    `tfsdk:"default_variant"`
	OffVariant      types.String                    `tfsdk:"off_variant"`
	OnVariant       types.String                    `tfsdk:"on_variant"`
	Rules           []ruleModel                     `tfsdk:"rule"`
	Rollout         *rolloutModel                   `tfsdk:"rollout"`
	DisableOnAlarms types.List                      `tfsdk:"disable_on_alarms"`
	Version         types.Int64                     `tfsdk:"version"`
	UpdatedAt       types.String                    `tfsdk:"updated_at"`
}

type ruleModel struct {
	Name       types.String     `tfsdk:"name"`
	Variant    types.String     `tfsdk:"variant"`
	Rollout    *rolloutModel    `tfsdk:"rollout"`
	Conditions []conditionModel `tfsdk:"condition"`
}

type conditionModel struct {
	Attribute types.String   `tfsdk:"attribute"`
	Operator  types.String   `tfsdk:"operator"`
	Values    []types.String `tfsdk:"values"`
}

type rolloutModel struct {
	Weights  map[string]types.Float64 `tfsdk:"weights"`
	BucketBy types.String             `tfsdk:"bucket_by"`
	Salt     types.String             `tfsdk:"salt"`
}

func (r *toggleResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_feature_toggle"
}

func rolloutBlock(what string) schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: what + " Weights are percentages (at most 3 decimals) that sum to 100. Bucketing is sticky: the same `bucket_by` value always gets the same variant.",
		Attributes: map[string]schema.Attribute{
			"weights": schema.MapAttribute{
				ElementType:         types.Float64Type,
				Optional:            true,
				MarkdownDescription: "Variant name to percentage, for example `{ on = 10, off = 90 }`.",
			},
			"bucket_by": schema.StringAttribute{
				Optional: true, Computed: true,
				Default:             stringdefault.StaticString(model.DefaultBucketBy),
				MarkdownDescription: "The context attribute that decides a subject's bucket. Defaults to `targetingKey`.",
			},
			"salt": schema.StringAttribute{
				Optional: true, Computed: true,
				PlanModifiers:       []planmodifier.String{defaultFrom{from: path.Root("key"), why: "the toggle key"}},
				MarkdownDescription: "Mixed into the bucketing hash. Defaults to the toggle key; changing it re-randomizes every subject (a new experiment).",
			},
		},
	}
}

func (r *toggleResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A feature toggle: a runtime switch around code that is already in production, served to applications over the OpenFeature Remote Evaluation Protocol (OFREP). " +
			"Use it as a kill switch, for targeting rules, sticky percentage rollouts and A/B tests, and to turn a feature off by itself while a CloudWatch alarm fires.\n\n" +
			"What the toggle serves right now (`effective_enabled`) moves on its own, so it lives in the `progressive_feature_toggle` data source, not here.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true, MarkdownDescription: "`<project>/<key>`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"project": schema.StringAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "The project the toggle lives in. Defaults to the provider's `project`. Changing it replaces the toggle.",
				Validators:          []validator.String{nameValidator("project name")},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"key": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The key applications evaluate: 1 to 128 lower-case letters, digits, dots, underscores and hyphens. Changing it replaces the toggle.",
				Validators:          []validator.String{stringvalidator.RegexMatches(toggleKeyRE, "must be 1 to 128 lower-case letters, digits, dots, underscores and hyphens, starting with a letter or digit (for example \"new-checkout\")")},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"description": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(""),
				MarkdownDescription: "What the toggle is for.",
				Validators:          []validator.String{descriptionValidator()},
			},
			"kind": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(model.ToggleRelease),
				MarkdownDescription: "`release` (default), `experiment`, `ops` or `permission`: what the toggle is for, which says how long it should live.",
				Validators:          []validator.String{stringvalidator.OneOf(model.ToggleRelease, model.ToggleExperiment, model.ToggleOps, model.TogglePermission)},
			},
			"enabled": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "The kill switch: `false` serves `off_variant` to everyone. Defaults to `true`.",
			},
			"variants": schema.MapAttribute{
				Required:            true,
				ElementType:         jsontypes.NormalizedType{},
				MarkdownDescription: "Variant name to JSON value (use `jsonencode`). All values have one JSON type: boolean, string, number or object.",
			},
			"default_variant": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Served when the toggle is enabled and no rule matches and there is no rollout.",
			},
			"off_variant": schema.StringAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "Served while the toggle is disabled or held off by an alarm. Defaults to `default_variant`.",
				PlanModifiers:       []planmodifier.String{defaultFrom{from: path.Root("default_variant"), why: "default_variant"}},
			},
			"on_variant": schema.StringAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "Served to all-on test tokens (`progressive token create --kind sdk --all-on`). Defaults to the variant whose value is `true` for boolean toggles; set it for other toggles that all-on tests should turn on.",
				PlanModifiers:       []planmodifier.String{defaultOnVariant{}},
			},
			"disable_on_alarms": schema.ListAttribute{
				ElementType: types.StringType, Optional: true, Computed: true,
				Default:             listdefault.StaticValue(types.ListValueMust(types.StringType, []attr.Value{})),
				MarkdownDescription: "CloudWatch alarm names: while any of them is in ALARM the engine serves `off_variant` (graceful degradation), and restores the toggle when they return to OK.",
			},
			"version": schema.Int64Attribute{
				Computed: true, MarkdownDescription: "The engine's version of the toggle; only changes to its settings bump it.",
			},
			"updated_at": schema.StringAttribute{
				Computed: true, MarkdownDescription: "When the toggle's settings last changed (RFC 3339).",
			},
		},
		Blocks: map[string]schema.Block{
			"rule": schema.ListNestedBlock{
				MarkdownDescription: "Targeting rules, tried in order; the first whose conditions all hold serves its `variant` or its `rollout`.",
				NestedObject: schema.NestedBlockObject{
					Attributes: map[string]schema.Attribute{
						"name":    schema.StringAttribute{Required: true, MarkdownDescription: "A name unique among the toggle's rules, reported in evaluation metadata."},
						"variant": schema.StringAttribute{Optional: true, MarkdownDescription: "The variant to serve. Set this or a `rollout` block."},
					},
					Blocks: map[string]schema.Block{
						"condition": schema.ListNestedBlock{
							MarkdownDescription: "Every condition must hold for the rule to match.",
							NestedObject: schema.NestedBlockObject{
								Attributes: map[string]schema.Attribute{
									"attribute": schema.StringAttribute{Required: true, MarkdownDescription: "A context attribute; `targetingKey` is the OpenFeature targeting key."},
									"operator": schema.StringAttribute{
										Required:            true,
										MarkdownDescription: "One of `" + strings.Join(model.Operators, "`, `") + "`. `matches` takes RE2 expressions; `gt`…`lte` compare numbers; `semver_*` compare semantic versions.",
										Validators:          []validator.String{stringvalidator.OneOf(model.Operators...)},
									},
									"values": schema.ListAttribute{ElementType: types.StringType, Required: true, MarkdownDescription: "Values to compare with; for equality and text operators any may match."},
								},
							},
						},
						"rollout": rolloutBlock("Serves a split to the contexts this rule matches instead of one variant."),
					},
				},
			},
			"rollout": rolloutBlock("The fallthrough split, served when no rule matches: a percentage rollout or an A/B test."),
		},
	}
}

var toggleKeyRE = mustRE(`^[a-z0-9][a-z0-9._-]{0,127}$`)

func (r *toggleResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan plans an unset project, so that the plan shows where the
// toggle will live.
func (r *toggleResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	planProject(ctx, r.data.project, req, resp)
}

// ValidateConfig applies the engine's own rules at plan time, with each
// problem on its attribute, whenever the configuration is fully known.
func (r *toggleResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m toggleModel
	if diags := req.Config.Get(ctx, &m); diags.HasError() {
		return // unknown values (from other resources): the engine checks on apply
	}
	spec, known := m.spec(ctx, true)
	if !known {
		return
	}
	if err := spec.Validate(); err != nil {
		addValidationErrors(&resp.Diagnostics, err)
	}
}

// spec converts the model; known is false when a value is unknown.
// forValidation leaves defaults unset so that validation sees the config.
func (m *toggleModel) spec(ctx context.Context, forValidation bool) (model.ToggleSpec, bool) {
	known := true
	str := func(v types.String) string {
		if v.IsUnknown() {
			known = false
		}
		return v.ValueString()
	}
	s := model.ToggleSpec{
		Key: str(m.Key), Description: str(m.Description), Kind: str(m.Kind),
		DefaultVariant: str(m.DefaultVariant), OffVariant: str(m.OffVariant), OnVariant: str(m.OnVariant),
		Variants: map[string]json.RawMessage{},
	}
	if m.Enabled.IsUnknown() {
		known = false
	} else if !m.Enabled.IsNull() {
		e := m.Enabled.ValueBool()
		s.Enabled = &e
	}
	for name, v := range m.Variants {
		if v.IsUnknown() {
			known = false
		}
		s.Variants[name] = json.RawMessage(v.ValueString())
	}
	for _, rm := range m.Rules {
		rule := model.ToggleRule{Name: str(rm.Name), Variant: str(rm.Variant), Rollout: rm.Rollout.spec(&known)}
		for _, c := range rm.Conditions {
			cond := model.Condition{Attribute: str(c.Attribute), Operator: str(c.Operator)}
			for _, v := range c.Values {
				cond.Values = append(cond.Values, str(v))
			}
			rule.Conditions = append(rule.Conditions, cond)
		}
		s.Rules = append(s.Rules, rule)
	}
	s.Rollout = m.Rollout.spec(&known)
	if m.DisableOnAlarms.IsUnknown() {
		known = false
	} else if !m.DisableOnAlarms.IsNull() {
		_ = m.DisableOnAlarms.ElementsAs(ctx, &s.DisableOnAlarms, false)
	}
	return s, known
}

func (rm *rolloutModel) spec(known *bool) *model.Rollout {
	if rm == nil {
		return nil
	}
	out := &model.Rollout{Weights: map[string]float64{}, BucketBy: rm.BucketBy.ValueString(), Salt: rm.Salt.ValueString()}
	if rm.BucketBy.IsUnknown() || rm.Salt.IsUnknown() {
		*known = false
	}
	for k, v := range rm.Weights {
		if v.IsUnknown() {
			*known = false
		}
		out.Weights[k] = v.ValueFloat64()
	}
	return out
}

// fill sets the model from the engine's answer.
func (m *toggleModel) fill(ctx context.Context, t wire.Toggle) diag.Diagnostics {
	m.ID = types.StringValue(t.Project + "/" + t.Key)
	m.Project = types.StringValue(t.Project)
	m.Key = types.StringValue(t.Key)
	m.Description = types.StringValue(t.Description)
	m.Kind = types.StringValue(t.Kind)
	m.Enabled = types.BoolValue(t.IsEnabled())
	m.Variants = map[string]jsontypes.Normalized{}
	for name, v := range t.Variants {
		m.Variants[name] = jsontypes.NewNormalizedValue(string(v))
	}
	m.DefaultVariant = types.StringValue(t.DefaultVariant)
	m.OffVariant = types.StringValue(t.OffVariant)
	m.OnVariant = types.StringValue(t.OnVariant)
	m.Rules = nil
	for _, r := range t.Rules {
		rm := ruleModel{Name: types.StringValue(r.Name), Variant: optionalString(r.Variant), Rollout: rolloutState(r.Rollout)}
		for _, c := range r.Conditions {
			cm := conditionModel{Attribute: types.StringValue(c.Attribute), Operator: types.StringValue(c.Operator)}
			for _, v := range c.Values {
				cm.Values = append(cm.Values, types.StringValue(v))
			}
			rm.Conditions = append(rm.Conditions, cm)
		}
		m.Rules = append(m.Rules, rm)
	}
	m.Rollout = rolloutState(t.Rollout)
	alarms, diags := types.ListValueFrom(ctx, types.StringType, nonNil(t.DisableOnAlarms))
	m.DisableOnAlarms = alarms
	m.Version = types.Int64Value(t.Version)
	m.UpdatedAt = types.StringValue(t.UpdatedAt.Format(time.RFC3339))
	return diags
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func rolloutState(r *model.Rollout) *rolloutModel {
	if r == nil {
		return nil
	}
	out := &rolloutModel{Weights: map[string]types.Float64{}, BucketBy: types.StringValue(r.BucketBy), Salt: types.StringValue(r.Salt)}
	for k, v := range r.Weights {
		out.Weights[k] = types.Float64Value(v)
	}
	return out
}

func (r *toggleResource) project(m *toggleModel) string {
	if p := m.Project.ValueString(); p != "" {
		return p
	}
	return r.data.project
}

func (r *toggleResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan toggleModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec, _ := plan.spec(ctx, false)
	project := r.project(&plan)
	t, err := r.data.client.CreateToggle(ctx, project, spec, client.NewIdempotencyKey())
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("create toggle %q in project %q", spec.Key, project), err)
		return
	}
	resp.Diagnostics.Append(plan.fill(ctx, t)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *toggleResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state toggleModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	project := r.project(&state)
	t, err := r.data.client.GetToggle(ctx, project, state.Key.ValueString())
	if isNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("read toggle %q in project %q", state.Key.ValueString(), project), err)
		return
	}
	resp.Diagnostics.Append(state.fill(ctx, t)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *toggleResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state toggleModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec, _ := plan.spec(ctx, false)
	project := r.project(&plan)
	t, err := r.data.client.UpdateToggle(ctx, project, spec, state.Version.ValueInt64())
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("update toggle %q in project %q", spec.Key, project), err)
		return
	}
	resp.Diagnostics.Append(plan.fill(ctx, t)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *toggleResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state toggleModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	project := r.project(&state)
	err := r.data.client.DeleteToggle(ctx, project, state.Key.ValueString(), state.Version.ValueInt64())
	if err != nil && !isNotFound(err) {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("delete toggle %q in project %q", state.Key.ValueString(), project), err)
	}
}

// ImportState takes "<key>" (the provider's project) or "<project>/<key>".
func (r *toggleResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	_, key, found := strings.Cut(req.ID, "/")
	if !found {
		key = req.ID
	}
	if !toggleKeyRE.MatchString(key) {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("The import ID %q is not a toggle key or <project>/<key>, such as \"checkout/new-checkout\".", req.ID))
		return
	}
	importProjectAndName(ctx, r.data.project, "toggle key", req, resp, "key")
}
