package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

var (
	_ resource.Resource                = (*releaseResource)(nil)
	_ resource.ResourceWithConfigure   = (*releaseResource)(nil)
	_ resource.ResourceWithImportState = (*releaseResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*releaseResource)(nil)
)

// NewReleaseResource returns the progressive_release resource.
func NewReleaseResource() resource.Resource { return &releaseResource{} }

type releaseResource struct {
	data *providerData
	// poll is how often a waiting apply reads the release.
	poll time.Duration
}

type releaseModel struct {
	ID                   types.String   `tfsdk:"id"`
	Project              types.String   `tfsdk:"project"`
	Environment          types.String   `tfsdk:"environment"`
	Slot                 types.String   `tfsdk:"slot"`
	Trigger              types.String   `tfsdk:"trigger"`
	WaitFor              types.String   `tfsdk:"wait_for"`
	Status               types.String   `tfsdk:"status"`
	Message              types.String   `tfsdk:"message"`
	StartedAt            types.String   `tfsdk:"started_at"`
	FinishedAt           types.String   `tfsdk:"finished_at"`
	PlannedActiveSlot    types.String   `tfsdk:"planned_active_slot"`
	PlannedLastReleaseID types.String   `tfsdk:"planned_last_release_id"`
	Timeouts             timeouts.Value `tfsdk:"timeouts"`
}

func (r *releaseResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_release"
}

func (r *releaseResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	fromState := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The business act of releasing: which slot of a `progressive_release_environment` customers get. Changing `slot` (or `trigger` while `slot` is not active) starts a release that the engine runs: check the slot, shift traffic, bake while watching `rollback_alarms`, and roll back by itself when one fires. " +
			"Under the environment's `canary_policy` it goes stage by stage with the policy's gates instead, and the plan warns with the stages and the minimum duration. " +
			"It can live in another workspace than the environment. An environment has at most one release resource.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The latest release attempt's ID (empty before the first).", PlanModifiers: fromState},
			"project": schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: "The environment's project. Defaults to the provider's `project`.",
				Validators: []validator.String{nameValidator("project name")}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"environment": schema.StringAttribute{Required: true, MarkdownDescription: "The environment's name.",
				Validators: []validator.String{nameValidator("environment name")}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"slot": schema.StringAttribute{Required: true, MarkdownDescription: "`blue` or `green`: the slot customers should get.",
				Validators: []validator.String{stringvalidator.OneOf(model.SlotBlue, model.SlotGreen)}},
			"trigger": schema.StringAttribute{Optional: true, MarkdownDescription: "Free text; a change starts a new attempt while `slot` is not active, for example a retry after a rollback (use the version of the fix)."},
			"wait_for": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("start"),
				MarkdownDescription: "`start` (default): apply returns once the checks passed and the first shift is verified. `completion`: apply waits until the release is released, rolled back or failed, or waits at a manual stage of its canary policy (then apply returns with a warning: approve with `progressive promote <environment>`).",
				Validators:          []validator.String{stringvalidator.OneOf("start", "completion")}},
			"status":      schema.StringAttribute{Computed: true, MarkdownDescription: "`idle`, `progressing`, `paused`, `released`, `rolled_back` or `failed`.", PlanModifiers: fromState},
			"message":     schema.StringAttribute{Computed: true, MarkdownDescription: "What happened, for a person: for a rollback, which gate with its value and bound.", PlanModifiers: fromState},
			"started_at":  schema.StringAttribute{Computed: true, MarkdownDescription: "When the latest attempt started (RFC 3339).", PlanModifiers: fromState},
			"finished_at": schema.StringAttribute{Computed: true, MarkdownDescription: "When it ended (RFC 3339), empty while it runs.", PlanModifiers: fromState},
			"planned_active_slot": schema.StringAttribute{Computed: true, PlanModifiers: fromState,
				MarkdownDescription: "The environment's active slot as of the last refresh, which is what a plan is made against; the engine refuses to apply a plan made against an environment that has changed since."},
			"planned_last_release_id": schema.StringAttribute{Computed: true, PlanModifiers: fromState,
				MarkdownDescription: "The environment's last release as of the last refresh (see `planned_active_slot`)."},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true}),
		},
	}
}

func (r *releaseResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
	if r.poll == 0 {
		r.poll = time.Second
	}
}

func (r *releaseResource) project(m *releaseModel) string {
	if p := m.Project.ValueString(); p != "" {
		return p
	}
	return r.data.project
}

// ModifyPlan warns, on a plan that changes nothing, about a release that
// rolled back or failed. What the environment looked like when the change
// was planned comes from the refresh that precedes every plan (Read), so a
// saved plan carries it and its apply sends it as the engine's expectations.
func (r *releaseResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	planProject(ctx, r.data.project, req, resp)
	var plan releaseModel
	if resp.Diagnostics.Append(resp.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	var state *releaseModel
	if !req.State.Raw.IsNull() {
		state = &releaseModel{}
		if resp.Diagnostics.Append(req.State.Get(ctx, state)...); resp.Diagnostics.HasError() {
			return
		}
	}
	if plan.Environment.IsUnknown() || plan.Project.IsUnknown() {
		return
	}
	changes := state == nil || !plan.Slot.Equal(state.Slot) || !plan.Trigger.Equal(state.Trigger)
	if !changes {
		if st := state.Status.ValueString(); st == string(model.ReleaseStatusRolledBack) || st == string(model.ReleaseStatusFailed) {
			resp.Diagnostics.AddWarning("Release "+titleStatus(st),
				fmt.Sprintf("Release %s of environment %q %s at %s: %s.\n\nThe engine does not retry on its own. To retry, deploy the fix to the environment's idle slot and change `trigger` (for example to the fix's version).",
					state.ID.ValueString(), plan.Environment.ValueString(), st, state.FinishedAt.ValueString(), state.Message.ValueString()))
		}
		return
	}
	for _, attr := range []string{"id", "status", "message", "started_at", "finished_at"} {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(attr), types.StringUnknown())...)
	}
	r.warnPolicy(ctx, &plan, &resp.Diagnostics)
}

// warnPolicy says, on a plan that starts a release under a canary policy,
// what the release will do: its stages and its minimum duration (as a
// warning: Terraform has no informational diagnostics), and which stages
// bake for less than the environment's Route 53 TTL. An environment or
// policy that the engine does not have yet (created by the same apply) has
// nothing to say.
func (r *releaseResource) warnPolicy(ctx context.Context, plan *releaseModel, diags *diag.Diagnostics) {
	if plan.Slot.IsUnknown() {
		return
	}
	project, name := r.project(plan), plan.Environment.ValueString()
	env, err := r.data.client.GetEnvironment(ctx, project, name)
	if err != nil {
		tflog.Debug(ctx, "no canary policy summary: environment not read", map[string]any{"environment": name, "error": err.Error()})
		return
	}
	if env.CanaryPolicy == "" || env.ActiveSlot == plan.Slot.ValueString() {
		return // no policy, or no release: the slot already serves
	}
	policy, err := r.data.client.GetCanaryPolicy(ctx, project, env.CanaryPolicy)
	if err != nil {
		tflog.Debug(ctx, "no canary policy summary: policy not read", map[string]any{"policy": env.CanaryPolicy, "error": err.Error()})
		return
	}
	diags.AddWarning("Release Runs Canary Policy", fmt.Sprintf("release of %s runs canary policy %s: %s", name, policy.Name, policy.Summary))
	r53 := env.Route53
	if r53 == nil {
		return
	}
	ttl := time.Duration(r53.TTL) * time.Second
	for _, st := range policy.Stages {
		if bake := time.Duration(st.BakeTime); bake < ttl {
			diags.AddWarning("Canary Stage Shorter Than DNS TTL", fmt.Sprintf(
				"Stage %q of canary policy %q bakes %s, less than the %s TTL of environment %q's Route 53 record: resolvers that cached the previous answer keep it that long, so the stage's gates judge little of its traffic.\n\n"+
					"Set the stage's bake_time to at least the TTL, or lower the record's TTL.",
				st.Name, policy.Name, model.ShortDuration(bake), model.ShortDuration(ttl), name))
		}
	}
}

func titleStatus(st string) string {
	if st == string(model.ReleaseStatusRolledBack) {
		return "Rolled Back"
	}
	return "Failed"
}

func (m *releaseModel) spec() model.ReleaseSpec {
	s := model.ReleaseSpec{Environment: m.Environment.ValueString(), Slot: m.Slot.ValueString(), Trigger: m.Trigger.ValueString()}
	if !m.PlannedActiveSlot.IsNull() && !m.PlannedActiveSlot.IsUnknown() && m.PlannedActiveSlot.ValueString() != "" {
		s.ExpectActiveSlot = m.PlannedActiveSlot.ValueString()
		last := m.PlannedLastReleaseID.ValueString()
		s.ExpectLastReleaseID = &last
	}
	return s
}

func (m *releaseModel) fill(rel wire.Release) {
	m.Project = types.StringValue(rel.Project)
	m.Environment = types.StringValue(rel.Environment)
	m.Slot = types.StringValue(rel.Slot)
	m.Trigger = optString(rel.Trigger)
	m.Status = types.StringValue(string(rel.Status))
	m.ID, m.Message, m.StartedAt, m.FinishedAt = types.StringValue(""), types.StringValue(""), types.StringValue(""), types.StringValue("")
	if c := rel.Current; c != nil {
		m.ID = types.StringValue(c.ID)
		msg := c.Message
		if c.Reason != "" && (c.Phase == model.PhaseRolledBack || c.Phase == model.PhaseFailed) {
			msg = c.Reason
		}
		m.Message = types.StringValue(msg)
		if !c.StartedAt.IsZero() {
			m.StartedAt = types.StringValue(c.StartedAt.Format(time.RFC3339))
		}
		if !c.FinishedAt.IsZero() {
			m.FinishedAt = types.StringValue(c.FinishedAt.Format(time.RFC3339))
		}
	}
	if m.PlannedActiveSlot.IsUnknown() {
		m.PlannedActiveSlot = types.StringValue("")
	}
	if m.PlannedLastReleaseID.IsUnknown() {
		m.PlannedLastReleaseID = types.StringValue("")
	}
}

// wait polls the release until the controller has acted on version and the
// attempt reached what wait_for asks for; it reports progress as it goes.
func (r *releaseResource) wait(ctx context.Context, m *releaseModel, version int64, timeout time.Duration) (wire.Release, diag.Diagnostics) {
	var diags diag.Diagnostics
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	project, env := r.project(m), m.Environment.ValueString()
	lastPhase := ""
	for {
		rel, err := r.data.client.GetRelease(ctx, project, env)
		if err != nil {
			addError(&diags, r.data.client, fmt.Sprintf("read the release of %q", env), err)
			return rel, diags
		}
		if c := rel.Current; c != nil && string(c.Phase) != lastPhase {
			lastPhase = string(c.Phase)
			tflog.Info(ctx, "release progress", map[string]any{"release": c.ID, "phase": c.Phase, "message": c.Message})
		}
		if rel.Applied && r.reached(m.WaitFor.ValueString(), rel) {
			return rel, diags
		}
		select {
		case <-ctx.Done():
			phase := "not started"
			if rel.Current != nil {
				phase = fmt.Sprintf("%s (%s)", rel.Current.Phase, rel.Current.Message)
			}
			diags.AddError("Release Still Running",
				fmt.Sprintf("The release of %q did not reach %q within %s; it is %s. The engine keeps running it: follow it with `progressive status %s`, or raise the timeouts block.", env, m.WaitFor.ValueString(), timeout, phase, env))
			return rel, diags
		case <-time.After(r.poll):
		}
	}
}

func (r *releaseResource) reached(waitFor string, rel wire.Release) bool {
	c := rel.Current
	if c == nil || rel.Slot != c.TargetSlot && c.Phase.Terminal() {
		return true // nothing to release: the slot is already active
	}
	if c.Phase.Terminal() {
		return true
	}
	if c.AwaitingApproval {
		return true // a manual stage: waiting for completion would wait for a person
	}
	return waitFor == "start" && !c.FirstShiftVerifiedAt.IsZero()
}

// awaitingApproval warns that the attempt this apply started waits at a
// manual stage for `progressive promote`.
func awaitingApproval(diags *diag.Diagnostics, rel wire.Release, prevID string) {
	c := rel.Current
	if c == nil || !c.AwaitingApproval || c.ID == prevID {
		return
	}
	stage := fmt.Sprintf("stage %d", c.StageIndex+1)
	if stages := c.Stages(); c.StageIndex < len(stages) {
		stage = fmt.Sprintf("stage %d of %d (%q, %d%% of traffic on the %s slot)", c.StageIndex+1, len(stages), stages[c.StageIndex].Name, stages[c.StageIndex].TrafficPercent, c.TargetSlot)
	}
	diags.AddWarning("Release Awaits Approval", fmt.Sprintf(
		"Release %s of %q is baked at %s, a manual stage, and waits for approval; the engine holds its weights and keeps checking the gates until then.\n\n"+
			"Approve it with `progressive promote %s`, or stop it with `progressive abort %s`. Apply returned instead of waiting for a person.",
		c.ID, rel.Environment, stage, rel.Environment, rel.Environment))
}

// outcome turns a failed or rolled-back attempt that this apply started
// (not an earlier one, prevID) into an error.
func outcome(diags *diag.Diagnostics, rel wire.Release, prevID string) {
	c := rel.Current
	if c == nil || rel.Slot != c.TargetSlot || c.ID == prevID {
		return
	}
	reason := c.Reason
	if reason == "" {
		reason = c.Message
	}
	switch c.Phase {
	case model.PhaseFailed:
		diags.AddError("Release Failed", fmt.Sprintf("Release %s of %q to the %s slot failed before any traffic moved: %s.\n\nFix the slot, then retry with a new `trigger`.", c.ID, rel.Environment, c.TargetSlot, reason))
	case model.PhaseRolledBack:
		diags.AddError("Release Rolled Back", fmt.Sprintf("Release %s of %q to the %s slot was rolled back: %s. The %s slot serves customers again.\n\nDeploy the fix to the %s slot, then retry with a new `trigger`.", c.ID, rel.Environment, c.TargetSlot, reason, c.FromSlot, c.TargetSlot))
	}
}

// observe records the environment's active slot and last release, which the
// next plan is made against.
func (r *releaseResource) observe(ctx context.Context, m *releaseModel, diags *diag.Diagnostics) {
	env, err := r.data.client.GetEnvironment(ctx, r.project(m), m.Environment.ValueString())
	if err != nil {
		if !isNotFound(err) {
			addError(diags, r.data.client, fmt.Sprintf("read environment %q", m.Environment.ValueString()), err)
		}
		m.PlannedActiveSlot, m.PlannedLastReleaseID = types.StringValue(""), types.StringValue("")
		return
	}
	m.PlannedActiveSlot, m.PlannedLastReleaseID = types.StringValue(env.ActiveSlot), types.StringValue(env.LastReleaseID)
}

func (r *releaseResource) apply(ctx context.Context, plan *releaseModel, version int64, timeout time.Duration, prevID string, diags *diag.Diagnostics) {
	rel, d := r.wait(ctx, plan, version, timeout)
	diags.Append(d...)
	// On create there is nothing planned against yet: observe now. On
	// update the plan's values stand until the next refresh.
	unplanned := plan.PlannedActiveSlot.IsUnknown()
	plan.fill(rel)
	if unplanned {
		r.observe(ctx, plan, diags)
	}
	if !diags.HasError() {
		outcome(diags, rel, prevID)
		awaitingApproval(diags, rel, prevID)
	}
}

func (r *releaseResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan releaseModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, 60*time.Minute)
	if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
		return
	}
	project := r.project(&plan)
	rel, err := r.data.client.CreateRelease(ctx, project, plan.spec(), client.NewIdempotencyKey())
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("release environment %q", plan.Environment.ValueString()), err)
		return
	}
	plan.fill(rel)
	r.apply(ctx, &plan, rel.Version, timeout, "", &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *releaseResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state releaseModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	rel, err := r.data.client.GetRelease(ctx, r.project(&state), state.Environment.ValueString())
	if isNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("read the release of %q", state.Environment.ValueString()), err)
		return
	}
	state.fill(rel)
	if state.WaitFor.IsNull() {
		state.WaitFor = types.StringValue("start")
	}
	r.observe(ctx, &state, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *releaseResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state releaseModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, 60*time.Minute)
	if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
		return
	}
	rel, err := r.data.client.UpdateRelease(ctx, r.project(&plan), plan.spec(), 0)
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("release environment %q", plan.Environment.ValueString()), err)
		return
	}
	plan.fill(rel)
	r.apply(ctx, &plan, rel.Version, timeout, state.ID.ValueString(), &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Delete forgets the release; it moves no traffic.
func (r *releaseResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state releaseModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	err := r.data.client.DeleteRelease(ctx, r.project(&state), state.Environment.ValueString())
	if err != nil && !isNotFound(err) {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("delete the release of %q", state.Environment.ValueString()), err)
	}
}

// ImportState takes the environment's name, or "<project>/<environment>".
func (r *releaseResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importProjectAndName(ctx, r.data.project, "environment name", req, resp, "environment")
}
