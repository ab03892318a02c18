package provider

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
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
	_ resource.Resource                   = (*environmentResource)(nil)
	_ resource.ResourceWithConfigure      = (*environmentResource)(nil)
	_ resource.ResourceWithImportState    = (*environmentResource)(nil)
	_ resource.ResourceWithValidateConfig = (*environmentResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*environmentResource)(nil)
)

// NewEnvironmentResource returns the progressive_release_environment resource.
func NewEnvironmentResource() resource.Resource { return &environmentResource{} }

type environmentResource struct {
	data *providerData
}

type environmentModel struct {
	ID              types.String         `tfsdk:"id"`
	Project         types.String         `tfsdk:"project"`
	Name            types.String         `tfsdk:"name"`
	InitialLiveSlot types.String         `tfsdk:"initial_live_slot"`
	Blue            *slotModel           `tfsdk:"blue"`
	Green           *slotModel           `tfsdk:"green"`
	ALB             *albModel            `tfsdk:"alb"`
	Route53         *route53Model        `tfsdk:"route53"`
	SmokeTest       *smokeTestModel      `tfsdk:"smoke_test"`
	CanaryPolicy    types.String         `tfsdk:"canary_policy"`
	BakeTime        timetypes.GoDuration `tfsdk:"bake_time"`
	RollbackAlarms  types.List           `tfsdk:"rollback_alarms"`
	CheckInterval   timetypes.GoDuration `tfsdk:"check_interval"`
	OnDestroy       types.String         `tfsdk:"on_destroy"`
	ActiveSlot      types.String         `tfsdk:"active_slot"`
	IdleSlot        types.String         `tfsdk:"idle_slot"`
	LastReleaseID   types.String         `tfsdk:"last_release_id"`
	Version         types.Int64          `tfsdk:"version"`
}

type slotModel struct {
	Version        types.String `tfsdk:"version"`
	TargetGroupARN types.String `tfsdk:"target_group_arn"`
	DNSValue       types.String `tfsdk:"dns_value"`
	SmokeTestURL   types.String `tfsdk:"smoke_test_url"`
}

type albModel struct {
	ListenerARN        types.String         `tfsdk:"listener_arn"`
	RulePriority       types.Int64          `tfsdk:"rule_priority"`
	HostHeaders        types.List           `tfsdk:"host_headers"`
	PathPatterns       types.List           `tfsdk:"path_patterns"`
	StickinessDuration timetypes.GoDuration `tfsdk:"stickiness_duration"`
	MinHealthyTargets  types.Int64          `tfsdk:"min_healthy_targets"`
}

type route53Model struct {
	ZoneID     types.String `tfsdk:"zone_id"`
	RecordName types.String `tfsdk:"record_name"`
	RecordType types.String `tfsdk:"record_type"`
	TTL        types.Int64  `tfsdk:"ttl"`
}

type smokeTestModel struct {
	ExpectedStatus types.Int64          `tfsdk:"expected_status"`
	ExpectVersion  types.Bool           `tfsdk:"expect_version"`
	Timeout        timetypes.GoDuration `tfsdk:"timeout"`
	Attempts       types.Int64          `tfsdk:"attempts"`
	Interval       timetypes.GoDuration `tfsdk:"interval"`
}

func (r *environmentResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_release_environment"
}

func durationAttr(desc, def string) schema.StringAttribute {
	return schema.StringAttribute{
		CustomType: timetypes.GoDurationType{}, Optional: true, Computed: true,
		Default: stringdefault.StaticString(def), PlanModifiers: []planmodifier.String{sameDuration{}}, MarkdownDescription: desc + " A Go duration such as `30s` or `5m`; `300s` and `5m` are the same. Defaults to `" + def + "`.",
	}
}

func slotBlock(name string) schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "The " + name + " slot: what is deployed in it and where it is reached.",
		Attributes: map[string]schema.Attribute{
			"version":          schema.StringAttribute{Optional: true, MarkdownDescription: "What is deployed in the slot (free text, such as a release tag); `smoke_test.expect_version` looks for it."},
			"target_group_arn": schema.StringAttribute{Optional: true, MarkdownDescription: "The slot's target group; required with `alb`."},
			"dns_value":        schema.StringAttribute{Optional: true, MarkdownDescription: "The slot's CNAME target or address; required with `route53`."},
			"smoke_test_url":   schema.StringAttribute{Optional: true, MarkdownDescription: "Checked before this slot takes traffic (see `smoke_test`)."},
		},
	}
}

func (r *environmentResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	stateSlot := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A blue-green environment: two production slots, what is deployed in each, and how traffic reaches them (engine-owned ALB listener rules with weighted target groups, or Route 53 weighted records). " +
			"Changing it is a deployment and moves no traffic: deploy to `idle_slot`, then release with `progressive_release`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`<project>/<name>`.", PlanModifiers: stateSlot},
			"project": schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: "The project. Defaults to the provider's `project`. Changing it replaces the environment.",
				Validators: []validator.String{nameValidator("project name")}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "1 to 63 lower-case letters, digits and hyphens. Changing it replaces the environment.",
				Validators: []validator.String{nameValidator("environment name")}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"initial_live_slot": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(model.SlotBlue),
				MarkdownDescription: "The slot that gets traffic when the environment is created (`blue` or `green`); ignored afterwards.",
				Validators:          []validator.String{stringvalidator.OneOf(model.SlotBlue, model.SlotGreen)}},
			"canary_policy":   schema.StringAttribute{Optional: true, MarkdownDescription: "A `progressive_canary_policy` name; without it a release switches all at once."},
			"bake_time":       durationAttr("After the switch, how long `rollback_alarms` are watched before the release is done.", "0s"),
			"check_interval":  durationAttr("How often gates are read during a release (at least 1s).", "10s"),
			"rollback_alarms": schema.ListAttribute{ElementType: types.StringType, Optional: true, Computed: true, Default: listdefault.StaticValue(types.ListValueMust(types.StringType, []attr.Value{})), MarkdownDescription: "CloudWatch alarms: any in ALARM during a release rolls it back automatically."},
			"on_destroy": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(model.OnDestroyRetain),
				MarkdownDescription: "`retain` (default) leaves AWS routing as it is; `remove_routing` deletes the engine's listener rules or records.",
				Validators:          []validator.String{stringvalidator.OneOf(model.OnDestroyRetain, model.OnDestroyRemoveRouting)}},
			"active_slot":     schema.StringAttribute{Computed: true, MarkdownDescription: "The slot serving customers. It changes only when a release ends.", PlanModifiers: stateSlot},
			"idle_slot":       schema.StringAttribute{Computed: true, MarkdownDescription: "The other slot: deploy here.", PlanModifiers: stateSlot},
			"last_release_id": schema.StringAttribute{Computed: true, MarkdownDescription: "The most recent release attempt.", PlanModifiers: stateSlot},
			"version":         schema.Int64Attribute{Computed: true, MarkdownDescription: "The engine's version of the environment."},
		},
		Blocks: map[string]schema.Block{
			"blue":  slotBlock("blue"),
			"green": slotBlock("green"),
			"alb": schema.SingleNestedBlock{
				MarkdownDescription: "Route through listener rules the engine creates and owns (exactly one of `alb` and `route53`). The user's listener default action is never touched.",
				Attributes: map[string]schema.Attribute{
					"listener_arn":  schema.StringAttribute{Optional: true, MarkdownDescription: "The listener."},
					"rule_priority": schema.Int64Attribute{Optional: true, MarkdownDescription: "10..50000. The engine owns priorities `rule_priority - 9` .. `rule_priority`: the weighted rule at `rule_priority`, audience rules below it."},
					"host_headers":  schema.ListAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Host-header conditions of the owned rules (at most 5)."},
					"path_patterns": schema.ListAttribute{ElementType: types.StringType, Optional: true, Computed: true,
						Default: listdefault.StaticValue(types.ListValueMust(types.StringType, []attr.Value{types.StringValue("/*")})), MarkdownDescription: "Path-pattern conditions (at most 5). Defaults to `[\"/*\"]`."},
					"stickiness_duration": durationAttr("Above 0, target-group stickiness in the forward action; a rollback turns it off so every user returns at once.", "0s"),
					"min_healthy_targets": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(1), MarkdownDescription: "A slot takes traffic only with this many healthy targets. Defaults to 1."},
				},
			},
			"route53": schema.SingleNestedBlock{
				MarkdownDescription: "Route through two weighted records with set identifiers `<name>-blue` and `<name>-green`.",
				Attributes: map[string]schema.Attribute{
					"zone_id":     schema.StringAttribute{Optional: true, MarkdownDescription: "The hosted zone."},
					"record_name": schema.StringAttribute{Optional: true, MarkdownDescription: "The record name."},
					"record_type": schema.StringAttribute{Optional: true, MarkdownDescription: "`CNAME`, `A` or `AAAA`."},
					"ttl":         schema.Int64Attribute{Optional: true, MarkdownDescription: "0..172800 seconds. A switch counts as complete only at INSYNC plus the TTL; `bake_time` must be at least the TTL."},
				},
			},
			"smoke_test": schema.SingleNestedBlock{
				MarkdownDescription: "How a slot's `smoke_test_url` is checked before the slot takes traffic.",
				Attributes: map[string]schema.Attribute{
					"expected_status": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(200), MarkdownDescription: "Defaults to 200."},
					"expect_version":  schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false), MarkdownDescription: "`true`: the response body must contain the slot's `version`."},
					"timeout":         durationAttr("Per attempt.", "5s"),
					"attempts":        schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(3), MarkdownDescription: "Defaults to 3."},
					"interval":        durationAttr("Between attempts.", "2s"),
				},
			},
		},
	}
}

func (r *environmentResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func dur(d timetypes.GoDuration, known *bool) model.Duration {
	if d.IsUnknown() {
		*known = false
		return 0
	}
	if d.IsNull() {
		return 0
	}
	v, _ := time.ParseDuration(d.ValueString())
	return model.Duration(v)
}

func strs(ctx context.Context, l types.List, known *bool) []string {
	if l.IsUnknown() {
		*known = false
		return nil
	}
	var out []string
	_ = l.ElementsAs(ctx, &out, false)
	return out
}

// spec converts the model; known is false when a value is unknown.
func (m *environmentModel) spec(ctx context.Context) (model.EnvironmentSpec, bool) {
	known := true
	str := func(v types.String) string {
		if v.IsUnknown() {
			known = false
		}
		return v.ValueString()
	}
	num := func(v types.Int64) int {
		if v.IsUnknown() {
			known = false
		}
		return int(v.ValueInt64())
	}
	s := model.EnvironmentSpec{
		Name: str(m.Name), InitialLiveSlot: str(m.InitialLiveSlot), CanaryPolicy: str(m.CanaryPolicy),
		BakeTime: dur(m.BakeTime, &known), CheckInterval: dur(m.CheckInterval, &known),
		RollbackAlarms: strs(ctx, m.RollbackAlarms, &known), OnDestroy: str(m.OnDestroy),
	}
	slot := func(sm *slotModel) model.Slot {
		if sm == nil {
			return model.Slot{}
		}
		return model.Slot{Version: str(sm.Version), TargetGroupARN: str(sm.TargetGroupARN), DNSValue: str(sm.DNSValue), SmokeTestURL: str(sm.SmokeTestURL)}
	}
	s.Blue, s.Green = slot(m.Blue), slot(m.Green)
	if a := m.ALB; a != nil {
		s.ALB = &model.ALB{ListenerARN: str(a.ListenerARN), RulePriority: num(a.RulePriority), HostHeaders: strs(ctx, a.HostHeaders, &known),
			PathPatterns: strs(ctx, a.PathPatterns, &known), StickinessDuration: dur(a.StickinessDuration, &known), MinHealthyTargets: num(a.MinHealthyTargets)}
	}
	if r53 := m.Route53; r53 != nil {
		s.Route53 = &model.Route53{ZoneID: str(r53.ZoneID), RecordName: str(r53.RecordName), RecordType: str(r53.RecordType), TTL: num(r53.TTL)}
	}
	if st := m.SmokeTest; st != nil {
		s.SmokeTest = model.SmokeTest{ExpectedStatus: num(st.ExpectedStatus), ExpectVersion: st.ExpectVersion.ValueBool(),
			Timeout: dur(st.Timeout, &known), Attempts: num(st.Attempts), Interval: dur(st.Interval, &known)}
	}
	return s, known
}

func goDuration(d model.Duration) timetypes.GoDuration {
	return timetypes.NewGoDurationValue(time.Duration(d))
}

func optString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// fill sets the model from the engine's answer. Optional blocks absent from
// the configuration stay absent.
func (m *environmentModel) fill(ctx context.Context, e wire.Environment) diag.Diagnostics {
	var diags diag.Diagnostics
	list := func(v []string) types.List {
		l, d := types.ListValueFrom(ctx, types.StringType, nonNil(v))
		diags.Append(d...)
		return l
	}
	m.ID = types.StringValue(e.Project + "/" + e.Name)
	m.Project = types.StringValue(e.Project)
	m.Name = types.StringValue(e.Name)
	m.InitialLiveSlot = types.StringValue(e.InitialLiveSlot)
	slot := func(prev *slotModel, s model.Slot) *slotModel {
		if prev == nil && s == (model.Slot{}) {
			return nil
		}
		return &slotModel{Version: optString(s.Version), TargetGroupARN: optString(s.TargetGroupARN), DNSValue: optString(s.DNSValue), SmokeTestURL: optString(s.SmokeTestURL)}
	}
	m.Blue, m.Green = slot(m.Blue, e.Blue), slot(m.Green, e.Green)
	if a := e.ALB; a != nil {
		hosts := types.ListNull(types.StringType)
		if len(a.HostHeaders) > 0 || (m.ALB != nil && !m.ALB.HostHeaders.IsNull()) {
			hosts = list(a.HostHeaders)
		}
		m.ALB = &albModel{ListenerARN: types.StringValue(a.ListenerARN), RulePriority: types.Int64Value(int64(a.RulePriority)), HostHeaders: hosts,
			PathPatterns: list(a.PathPatterns), StickinessDuration: goDuration(a.StickinessDuration), MinHealthyTargets: types.Int64Value(int64(a.MinHealthyTargets))}
	} else {
		m.ALB = nil
	}
	if r53 := e.Route53; r53 != nil {
		m.Route53 = &route53Model{ZoneID: types.StringValue(r53.ZoneID), RecordName: types.StringValue(r53.RecordName), RecordType: types.StringValue(r53.RecordType), TTL: types.Int64Value(int64(r53.TTL))}
	} else {
		m.Route53 = nil
	}
	if m.SmokeTest != nil {
		st := e.SmokeTest
		m.SmokeTest = &smokeTestModel{ExpectedStatus: types.Int64Value(int64(st.ExpectedStatus)), ExpectVersion: types.BoolValue(st.ExpectVersion),
			Timeout: goDuration(st.Timeout), Attempts: types.Int64Value(int64(st.Attempts)), Interval: goDuration(st.Interval)}
	}
	m.CanaryPolicy = optString(e.CanaryPolicy)
	m.BakeTime = goDuration(e.BakeTime)
	m.CheckInterval = goDuration(e.CheckInterval)
	m.RollbackAlarms = list(e.RollbackAlarms)
	m.OnDestroy = types.StringValue(e.OnDestroy)
	m.ActiveSlot = types.StringValue(e.ActiveSlot)
	m.IdleSlot = types.StringValue(e.IdleSlot)
	m.LastReleaseID = types.StringValue(e.LastReleaseID)
	m.Version = types.Int64Value(e.Version)
	return diags
}

// ValidateConfig applies the engine's rules at plan time when the
// configuration is fully known.
func (r *environmentResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m environmentModel
	if diags := req.Config.Get(ctx, &m); diags.HasError() {
		return
	}
	spec, known := m.spec(ctx)
	if !known {
		return
	}
	if err := spec.Validate(); err != nil {
		addValidationErrors(&resp.Diagnostics, err)
	}
}

// ModifyPlan plans the project, and refuses at plan time a change to the
// routing of the slot that serves customers: that is a release, not a deploy.
func (r *environmentResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	planProject(ctx, r.data.project, req, resp)
	if req.State.Raw.IsNull() {
		return
	}
	var plan, state environmentModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	// When nothing but the spelling of a duration changed, attribute plan
	// modifiers have restored the prior values; keep the version too, so the
	// plan is empty.
	if planned, known := plan.spec(ctx); known {
		if prior, _ := state.spec(ctx); reflect.DeepEqual(planned, prior) && plan.Version.IsUnknown() {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("version"), state.Version)...)
		}
	}
	active := state.ActiveSlot.ValueString()
	was, now := slotOf(&state, active), slotOf(&plan, active)
	if was == nil || now == nil {
		return
	}
	for attr, pair := range map[string][2]types.String{"target_group_arn": {was.TargetGroupARN, now.TargetGroupARN}, "dns_value": {was.DNSValue, now.DNSValue}} {
		if !pair[1].IsUnknown() && !pair[0].Equal(pair[1]) {
			resp.Diagnostics.AddAttributeError(path.Root(active).AtName(attr), "Serving Slot Changed",
				fmt.Sprintf("The %s slot serves customers now, so its %s cannot change: deploy to the idle slot (%s) and release it with progressive_release.", active, attr, model.OtherSlot(active)))
		}
	}
}

func slotOf(m *environmentModel, slot string) *slotModel {
	if slot == model.SlotGreen {
		return m.Green
	}
	if slot == model.SlotBlue {
		return m.Blue
	}
	return nil
}

func (r *environmentResource) project(m *environmentModel) string {
	if p := m.Project.ValueString(); p != "" {
		return p
	}
	return r.data.project
}

func (r *environmentResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan environmentModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	spec, _ := plan.spec(ctx)
	project := r.project(&plan)
	if _, err := r.data.client.CreateEnvironment(ctx, project, spec, client.NewIdempotencyKey()); err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("create environment %q in project %q", spec.Name, project), err)
		return
	}
	e, err := r.waitForRouting(ctx, project, spec.Name)
	if err != nil {
		resp.Diagnostics.AddError("Environment Routing Failed", fmt.Sprintf(
			"The engine could not set up the routing of environment %q, so nothing was created: %s\n\nFix the AWS objects the message names (or the environment's settings), then apply again.", spec.Name, err))
		if derr := r.data.client.DeleteEnvironment(ctx, project, spec.Name, 0); derr != nil && !isNotFound(derr) {
			addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("remove environment %q after its routing failed", spec.Name), derr)
		}
		return
	}
	resp.Diagnostics.Append(plan.fill(ctx, e)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *environmentResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state environmentModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	project := r.project(&state)
	e, err := r.data.client.GetEnvironment(ctx, project, state.Name.ValueString())
	if isNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("read environment %q in project %q", state.Name.ValueString(), project), err)
		return
	}
	resp.Diagnostics.Append(state.fill(ctx, e)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *environmentResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state environmentModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec, _ := plan.spec(ctx)
	project := r.project(&plan)
	e, err := r.data.client.UpdateEnvironment(ctx, project, spec, state.Version.ValueInt64())
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("update environment %q in project %q", spec.Name, project), err)
		return
	}
	resp.Diagnostics.Append(plan.fill(ctx, e)...)
	// active_slot and idle_slot change only when a release ends; an
	// update returns them as planned (from state) and refresh shows the truth.
	plan.ActiveSlot, plan.IdleSlot, plan.LastReleaseID = state.ActiveSlot, state.IdleSlot, state.LastReleaseID
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *environmentResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state environmentModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	project := r.project(&state)
	name := state.Name.ValueString()
	err := r.data.client.DeleteEnvironment(ctx, project, name, state.Version.ValueInt64())
	if isNotFound(err) {
		return
	}
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("delete environment %q in project %q", name, project), err)
		return
	}
	// With on_destroy = remove_routing the leader removes the routing first:
	// wait until the environment is gone.
	ctx, cancel := context.WithTimeout(ctx, routingTimeout)
	defer cancel()
	for {
		_, err := r.data.client.GetEnvironment(ctx, project, name)
		if isNotFound(err) {
			return
		}
		if err != nil {
			addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("wait for environment %q to be deleted", name), err)
			return
		}
		select {
		case <-ctx.Done():
			resp.Diagnostics.AddError("Environment Not Deleted", fmt.Sprintf("The engine did not remove the routing of %q within %s; `progressive status %s` shows why.", name, routingTimeout, name))
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// ImportState takes "<name>" (the provider's project) or "<project>/<name>".
func (r *environmentResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importProjectAndName(ctx, r.data.project, "environment name", req, resp)
}

// routingTimeout bounds how long a create waits for the engine's leader to
// create or adopt the environment's routing on AWS.
const routingTimeout = 5 * time.Minute

// waitForRouting waits until the engine has set up the environment's routing
// (its listener rule or records), and returns the environment; an error
// carries the engine's message, which names the AWS object at fault.
func (r *environmentResource) waitForRouting(ctx context.Context, project, name string) (wire.Environment, error) {
	ctx, cancel := context.WithTimeout(ctx, routingTimeout)
	defer cancel()
	for {
		e, err := r.data.client.GetEnvironment(ctx, project, name)
		if err != nil {
			return e, err
		}
		switch e.Routing {
		case model.RoutingReady:
			return e, nil
		case model.RoutingError:
			return e, errors.New(e.RoutingMessage)
		}
		select {
		case <-ctx.Done():
			return e, fmt.Errorf("the engine did not set up routing within %s; is its leader running and AWS reachable? (`progressive status %s`)", routingTimeout, name)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
