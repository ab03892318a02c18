package provider

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
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
	_ resource.Resource                   = (*canaryPolicyResource)(nil)
	_ resource.ResourceWithConfigure      = (*canaryPolicyResource)(nil)
	_ resource.ResourceWithImportState    = (*canaryPolicyResource)(nil)
	_ resource.ResourceWithValidateConfig = (*canaryPolicyResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*canaryPolicyResource)(nil)
)

// NewCanaryPolicyResource returns the progressive_canary_policy resource.
func NewCanaryPolicyResource() resource.Resource { return &canaryPolicyResource{} }

type canaryPolicyResource struct {
	data *providerData
}

type canaryPolicyModel struct {
	ID            types.String         `tfsdk:"id"`
	Project       types.String         `tfsdk:"project"`
	Name          types.String         `tfsdk:"name"`
	CheckInterval timetypes.GoDuration `tfsdk:"check_interval"`
	Stages        []canaryStageModel   `tfsdk:"stage"`
	Acceptance    *acceptanceModel     `tfsdk:"acceptance"`
	Summary       types.String         `tfsdk:"summary"`
	MinDuration   timetypes.GoDuration `tfsdk:"min_duration"`
	Version       types.Int64          `tfsdk:"version"`
}

type canaryStageModel struct {
	Name           types.String         `tfsdk:"name"`
	TrafficPercent types.Int64          `tfsdk:"traffic_percent"`
	BakeTime       timetypes.GoDuration `tfsdk:"bake_time"`
	Approval       types.String         `tfsdk:"approval"`
	Audience       *audienceModel       `tfsdk:"audience"`
}

type audienceModel struct {
	SourceIPs   types.List        `tfsdk:"source_ips"`
	HTTPHeaders []httpHeaderModel `tfsdk:"http_header"`
}

type httpHeaderModel struct {
	Name   types.String `tfsdk:"name"`
	Values types.List   `tfsdk:"values"`
}

type acceptanceModel struct {
	AlarmNames       types.List        `tfsdk:"alarm_names"`
	InsufficientData types.String      `tfsdk:"insufficient_data"`
	FailureLimit     types.Int64       `tfsdk:"failure_limit"`
	ErrorLimit       types.Int64       `tfsdk:"error_limit"`
	Metrics          []metricGateModel `tfsdk:"metric"`
}

type metricGateModel struct {
	Name       types.String   `tfsdk:"name"`
	Namespace  types.String   `tfsdk:"namespace"`
	MetricName types.String   `tfsdk:"metric_name"`
	Dimensions types.Map      `tfsdk:"dimensions"`
	Statistic  types.String   `tfsdk:"statistic"`
	Period     types.Int64    `tfsdk:"period"`
	Min        types.Float64  `tfsdk:"min"`
	Max        types.Float64  `tfsdk:"max"`
	Baseline   *baselineModel `tfsdk:"baseline"`
}

type baselineModel struct {
	Offset         timetypes.GoDuration `tfsdk:"offset"`
	MaxDropPercent types.Float64        `tfsdk:"max_drop_percent"`
	MaxRisePercent types.Float64        `tfsdk:"max_rise_percent"`
}

// Schema defaults, which are also what validation assumes for unset values.
const (
	defaultCanaryCheckInterval = "10s"
	defaultStatistic           = "Average"
	defaultPeriod              = 60
)

func (r *canaryPolicyResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_canary_policy"
}

// canaryDuration is a duration attribute of a policy; required ones have no
// default.
func canaryDuration(desc string, required bool) schema.StringAttribute {
	return schema.StringAttribute{
		CustomType: timetypes.GoDurationType{}, Required: required, Optional: !required,
		PlanModifiers:       []planmodifier.String{sameDuration{}},
		MarkdownDescription: desc + " A Go duration such as `30s`, `10m` or `168h`; `600s` and `10m` are the same.",
	}
}

func (r *canaryPolicyResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	checkInterval := canaryDuration("How often the acceptance gates are read during every stage; at least `1s`. Defaults to `"+defaultCanaryCheckInterval+"`.", false)
	checkInterval.Computed = true
	checkInterval.Default = stringdefault.StaticString(defaultCanaryCheckInterval)
	percent := "A percentage, written as a number such as `20` for 20 %."
	resp.Schema = schema.Schema{
		MarkdownDescription: "A canary policy: how a release moves customers to the new slot stage by stage (internal employees first, then a small slice of customers, then the fleet), " +
			"and the acceptance gates (CloudWatch alarms, metric thresholds, baselines from history) checked every `check_interval` in every stage. A gate beyond its limits rolls the release back by itself.\n\n" +
			"Environments use a policy through their `canary_policy` attribute: its stages, gates and `check_interval` replace the environment's `bake_time` and `check_interval`, and the environment's `rollback_alarms` join the alarm gate. " +
			"Releases still start from `progressive_release`, whose plan warns with the stages and the minimum duration.\n\n" +
			"**Policy updates leave running releases on the policy version they started with**: a change applies from the next release on. " +
			"A policy that an environment uses cannot be deleted.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true, MarkdownDescription: "`<project>/<name>`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"project": schema.StringAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "The project the policy lives in; environments of the same project can use it. Defaults to the provider's `project`. Changing it replaces the policy.",
				Validators:          []validator.String{nameValidator("project name")},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The name environments use in `canary_policy`: 1 to 63 lower-case letters, digits and hyphens. Changing it replaces the policy.",
				Validators:          []validator.String{nameValidator("policy name")},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"check_interval": checkInterval,
			"summary": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The stages with their bake times and the least time a release takes, as plans of `progressive_release` show it: `employees 10m → early-customers 15m → fleet 15m, at least 40m`.",
			},
			"min_duration": schema.StringAttribute{
				CustomType: timetypes.GoDurationType{}, Computed: true,
				MarkdownDescription: "The least time a release under the policy takes: the sum of the stages' bake times (manual approvals and held gates add to it).",
			},
			"version": schema.Int64Attribute{
				Computed: true, MarkdownDescription: "The engine's version of the policy. A release pins the version it started with.",
			},
		},
		Blocks: map[string]schema.Block{
			"stage": schema.ListNestedBlock{
				MarkdownDescription: fmt.Sprintf("The stages, in order (1 to %d). Each sets the audience rule and the weights, verifies them by reading AWS back, bakes while the gates hold, then moves on (or waits on a manual stage). "+
					"`traffic_percent` never decreases from one stage to the next, and the last stage sends 100 %% (after it the new slot becomes live).", model.MaxCanaryStages),
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.SizeAtMost(model.MaxCanaryStages)},
				NestedObject: schema.NestedBlockObject{
					Attributes: map[string]schema.Attribute{
						"name": schema.StringAttribute{
							Required:            true,
							MarkdownDescription: "A name unique among the policy's stages (1 to 63 lower-case letters, digits, hyphens and underscores), shown in plans, status and rollback messages.",
						},
						"traffic_percent": schema.Int64Attribute{
							Required:            true,
							MarkdownDescription: "0 to 100: the share of ordinary traffic on the new slot during the stage. `0` with an `audience` sends only the audience there.",
						},
						"bake_time": canaryDuration("How long the gates must hold in this stage before the next one. Bake time accrues only while the gates are actually read; on Route 53 it counts from INSYNC plus the record's TTL.", true),
						"approval": schema.StringAttribute{
							Optional: true, Computed: true, Default: stringdefault.StaticString(model.ApprovalAutomatic),
							MarkdownDescription: "`automatic` (default) moves on once baked; `manual` then waits for `progressive promote <environment>`. An apply with `wait_for = \"completion\"` returns, with a warning, when a release waits for approval.",
							Validators:          []validator.String{stringvalidator.OneOf(model.ApprovalAutomatic, model.ApprovalManual)},
						},
					},
					Blocks: map[string]schema.Block{
						"audience": schema.SingleNestedBlock{
							MarkdownDescription: "Who reaches the new slot during this stage regardless of `traffic_percent`, through an engine-owned ALB rule ahead of the weighted one that also carries the environment's host and path conditions. " +
								"Needs an environment with `alb`; not allowed on the last stage. `source_ips` and `http_header` must all match when several are given. " +
								"With the environment's conditions an audience must fit ALB's limit of 5 condition values per rule, checked when an environment uses the policy.",
							Attributes: map[string]schema.Attribute{
								"source_ips": schema.ListAttribute{
									ElementType: types.StringType, Optional: true,
									MarkdownDescription: "Client CIDR blocks, such as `10.0.0.0/8` for the office network.",
								},
							},
							Blocks: map[string]schema.Block{
								"http_header": schema.ListNestedBlock{
									MarkdownDescription: "A request header that must match one of `values`; repeat the block for several headers.",
									NestedObject: schema.NestedBlockObject{
										Attributes: map[string]schema.Attribute{
											"name": schema.StringAttribute{Required: true, MarkdownDescription: "The header name, such as `x-employee`."},
											"values": schema.ListAttribute{
												ElementType: types.StringType, Required: true,
												MarkdownDescription: "Values, any of which matches (1 to 128 characters each; `*` and `?` are wildcards).",
											},
										},
									},
								},
							},
						},
					},
				},
			},
			"acceptance": schema.SingleNestedBlock{
				MarkdownDescription: "The acceptance gate, checked every `check_interval` in every stage: every alarm must be out of ALARM and every metric within its bounds. " +
					"After `failure_limit` consecutive failed checks the release rolls back: the stable slot goes back to 100 % and the audience rule is removed, and the release's message names the gate, the observed value and the bound.",
				Attributes: map[string]schema.Attribute{
					"alarm_names": schema.ListAttribute{
						ElementType: types.StringType, Optional: true, Computed: true,
						Default:             listdefault.StaticValue(types.ListValueMust(types.StringType, []attr.Value{})),
						MarkdownDescription: fmt.Sprintf("CloudWatch alarms (at most %d): any in ALARM fails the gate. They must exist in the engine's account and region; unknown names are refused at apply.", model.MaxAlarmGates),
					},
					"insufficient_data": schema.StringAttribute{
						Optional: true, Computed: true, Default: stringdefault.StaticString(model.InsufficientIgnore),
						MarkdownDescription: "What an alarm in INSUFFICIENT_DATA or a metric without a datapoint does: `ignore` (default) passes, `hold` pauses progression (no bake time accrues), `fail` fails the gate.",
						Validators:          []validator.String{stringvalidator.OneOf(model.InsufficientIgnore, model.InsufficientHold, model.InsufficientFail)},
					},
					"failure_limit": schema.Int64Attribute{
						Optional: true, Computed: true, Default: int64default.StaticInt64(0),
						MarkdownDescription: "Consecutive failed checks tolerated before the rollback. Defaults to 0: the first failed check rolls back.",
					},
					"error_limit": schema.Int64Attribute{
						Optional: true, Computed: true, Default: int64default.StaticInt64(model.DefaultGateErrorLimit),
						MarkdownDescription: fmt.Sprintf("Consecutive errors reading CloudWatch that count as one failed check (fail closed); at least 1. Defaults to %d.", model.DefaultGateErrorLimit),
						Validators:          []validator.Int64{int64validator.AtLeast(1)},
					},
				},
				Blocks: map[string]schema.Block{
					"metric": schema.ListNestedBlock{
						MarkdownDescription: fmt.Sprintf("A CloudWatch metric gate (at most %d): the last complete `period`, aligned to period boundaries, must lie within `min`, `max` and the `baseline`. Set at least one of them.", model.MaxMetricGates),
						NestedObject: schema.NestedBlockObject{
							Attributes: map[string]schema.Attribute{
								"name":        schema.StringAttribute{Required: true, MarkdownDescription: "A name unique among the policy's metrics, used in status and rollback messages, such as `conversion`."},
								"namespace":   schema.StringAttribute{Required: true, MarkdownDescription: "The metric's namespace, such as `AWS/ApplicationELB`."},
								"metric_name": schema.StringAttribute{Required: true, MarkdownDescription: "The metric's name, such as `TargetResponseTime`."},
								"dimensions": schema.MapAttribute{
									ElementType: types.StringType, Optional: true,
									MarkdownDescription: "Dimension name to value (at most 30), such as `{ Service = \"checkout\" }`.",
								},
								"statistic": schema.StringAttribute{
									Optional: true, Computed: true, Default: stringdefault.StaticString(defaultStatistic),
									MarkdownDescription: "`Average` (default), `Sum`, `Minimum`, `Maximum`, `SampleCount`, or a percentile such as `p99` or `p99.9`.",
								},
								"period": schema.Int64Attribute{
									Optional: true, Computed: true, Default: int64default.StaticInt64(defaultPeriod),
									MarkdownDescription: "Seconds: 60 (default) or a multiple of 60 up to 86400, or 1, 5, 10 or 30 for high-resolution metrics.",
									Validators:          []validator.Int64{int64validator.AtLeast(1)},
								},
								"min": schema.Float64Attribute{Optional: true, MarkdownDescription: "The gate fails when the value falls below this."},
								"max": schema.Float64Attribute{Optional: true, MarkdownDescription: "The gate fails when the value rises above this."},
							},
							Blocks: map[string]schema.Block{
								"baseline": schema.SingleNestedBlock{
									MarkdownDescription: "Compares the value with the same aligned window `offset` earlier (history), for metrics whose normal range moves with the time of day or week. Set `max_drop_percent`, `max_rise_percent` or both.",
									Attributes: map[string]schema.Attribute{
										"offset": canaryDuration("How far back the baseline window is, such as `168h` (a week); at most 455 days (CloudWatch's retention). Required in a `baseline` block.", false),
										"max_drop_percent": schema.Float64Attribute{
											Optional:            true,
											MarkdownDescription: "0 to 100: the gate fails when the value falls more than this below the baseline (conversion, orders). " + percent,
										},
										"max_rise_percent": schema.Float64Attribute{
											Optional:            true,
											MarkdownDescription: fmt.Sprintf("0 to %d: the gate fails when the value rises more than this above the baseline (latency, errors). ", model.MaxRisePercent) + percent,
										},
									},
								},
							},
						},
					},
				},
			},
		},
	}
}

func (r *canaryPolicyResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// spec converts the model; known is false when a value is unknown. Unset
// values with a schema default take the default, as the plan will.
func (m *canaryPolicyModel) spec(ctx context.Context) (model.CanaryPolicySpec, bool) {
	known := true
	str := func(v types.String, def string) string {
		if v.IsUnknown() {
			known = false
		}
		if v.IsNull() {
			return def
		}
		return v.ValueString()
	}
	num := func(v types.Int64, def int) int {
		if v.IsUnknown() {
			known = false
		}
		if v.IsNull() {
			return def
		}
		return int(v.ValueInt64())
	}
	float := func(v types.Float64) *float64 {
		if v.IsUnknown() {
			known = false
		}
		if v.IsNull() || v.IsUnknown() {
			return nil
		}
		f := v.ValueFloat64()
		return &f
	}
	duration := func(d timetypes.GoDuration, def string) model.Duration {
		if d.IsNull() && def != "" {
			v, _ := time.ParseDuration(def)
			return model.Duration(v)
		}
		return dur(d, &known)
	}
	s := model.CanaryPolicySpec{Name: str(m.Name, ""), CheckInterval: duration(m.CheckInterval, defaultCanaryCheckInterval)}
	for _, st := range m.Stages {
		stage := model.CanaryStage{Name: str(st.Name, ""), TrafficPercent: num(st.TrafficPercent, 0),
			BakeTime: duration(st.BakeTime, ""), Approval: str(st.Approval, model.ApprovalAutomatic)}
		if a := st.Audience; a != nil {
			stage.Audience = &model.Audience{SourceIPs: strs(ctx, a.SourceIPs, &known)}
			for _, h := range a.HTTPHeaders {
				stage.Audience.HTTPHeaders = append(stage.Audience.HTTPHeaders, model.HTTPHeader{Name: str(h.Name, ""), Values: strs(ctx, h.Values, &known)})
			}
		}
		s.Stages = append(s.Stages, stage)
	}
	s.Acceptance = model.Acceptance{AlarmNames: []string{}, InsufficientData: model.InsufficientIgnore, ErrorLimit: model.DefaultGateErrorLimit, Metrics: []model.MetricGate{}}
	if a := m.Acceptance; a != nil {
		s.Acceptance.AlarmNames = nonNil(strs(ctx, a.AlarmNames, &known))
		s.Acceptance.InsufficientData = str(a.InsufficientData, model.InsufficientIgnore)
		s.Acceptance.FailureLimit = num(a.FailureLimit, 0)
		s.Acceptance.ErrorLimit = num(a.ErrorLimit, model.DefaultGateErrorLimit)
		for _, mg := range a.Metrics {
			gate := model.MetricGate{Name: str(mg.Name, ""), Namespace: str(mg.Namespace, ""), MetricName: str(mg.MetricName, ""),
				Statistic: str(mg.Statistic, defaultStatistic), Period: num(mg.Period, defaultPeriod), Min: float(mg.Min), Max: float(mg.Max)}
			if mg.Dimensions.IsUnknown() {
				known = false
			} else if !mg.Dimensions.IsNull() {
				_ = mg.Dimensions.ElementsAs(ctx, &gate.Dimensions, false)
			}
			if b := mg.Baseline; b != nil {
				gate.Baseline = &model.Baseline{Offset: duration(b.Offset, ""), MaxDropPercent: float(b.MaxDropPercent), MaxRisePercent: float(b.MaxRisePercent)}
			}
			s.Acceptance.Metrics = append(s.Acceptance.Metrics, gate)
		}
	}
	return s, known
}

// shortDuration writes a duration as people do ("10m", "168h"), so that an
// import reads back what a configuration usually says.
func shortDuration(d model.Duration) timetypes.GoDuration {
	return timetypes.NewGoDurationValueFromStringMust(model.ShortDuration(time.Duration(d)))
}

func optFloat(f *float64) types.Float64 {
	if f == nil {
		return types.Float64Null()
	}
	return types.Float64Value(*f)
}

// fill sets the model from the engine's answer. Optional lists, maps and
// blocks absent from the configuration stay absent.
func (m *canaryPolicyModel) fill(ctx context.Context, p wire.CanaryPolicy) diag.Diagnostics {
	var diags diag.Diagnostics
	emptyList := types.ListValueMust(types.StringType, []attr.Value{})
	list := func(prev types.List, v []string) types.List {
		if len(v) == 0 && prev.IsNull() {
			return types.ListNull(types.StringType)
		}
		l, d := types.ListValueFrom(ctx, types.StringType, nonNil(v))
		diags.Append(d...)
		return l
	}
	m.ID = types.StringValue(p.Project + "/" + p.Name)
	m.Project = types.StringValue(p.Project)
	m.Name = types.StringValue(p.Name)
	m.CheckInterval = shortDuration(p.CheckInterval)
	prevStages := m.Stages
	m.Stages = nil
	for i, st := range p.Stages {
		var prev canaryStageModel
		if i < len(prevStages) {
			prev = prevStages[i]
		}
		sm := canaryStageModel{Name: types.StringValue(st.Name), TrafficPercent: types.Int64Value(int64(st.TrafficPercent)),
			BakeTime: shortDuration(st.BakeTime), Approval: types.StringValue(st.Approval)}
		if a := st.Audience; a != nil {
			prevIPs := types.ListNull(types.StringType)
			if prev.Audience != nil {
				prevIPs = prev.Audience.SourceIPs
			}
			am := &audienceModel{SourceIPs: list(prevIPs, a.SourceIPs)}
			for _, h := range a.HTTPHeaders {
				am.HTTPHeaders = append(am.HTTPHeaders, httpHeaderModel{Name: types.StringValue(h.Name), Values: list(emptyList, h.Values)})
			}
			sm.Audience = am
		}
		m.Stages = append(m.Stages, sm)
	}
	a := p.Acceptance
	// Without an acceptance block the engine holds only its defaults.
	defaults := len(a.AlarmNames) == 0 && len(a.Metrics) == 0 && a.InsufficientData == model.InsufficientIgnore && a.FailureLimit == 0 && a.ErrorLimit == model.DefaultGateErrorLimit
	if m.Acceptance != nil || !defaults {
		var prevMetrics []metricGateModel
		if m.Acceptance != nil {
			prevMetrics = m.Acceptance.Metrics
		}
		am := &acceptanceModel{AlarmNames: list(emptyList, a.AlarmNames), InsufficientData: types.StringValue(a.InsufficientData),
			FailureLimit: types.Int64Value(int64(a.FailureLimit)), ErrorLimit: types.Int64Value(int64(a.ErrorLimit))}
		for i, g := range a.Metrics {
			dims := types.MapNull(types.StringType)
			if len(g.Dimensions) > 0 || (i < len(prevMetrics) && !prevMetrics[i].Dimensions.IsNull()) {
				var d diag.Diagnostics
				dims, d = types.MapValueFrom(ctx, types.StringType, g.Dimensions)
				diags.Append(d...)
			}
			gm := metricGateModel{Name: types.StringValue(g.Name), Namespace: types.StringValue(g.Namespace), MetricName: types.StringValue(g.MetricName),
				Dimensions: dims, Statistic: types.StringValue(g.Statistic), Period: types.Int64Value(int64(g.Period)), Min: optFloat(g.Min), Max: optFloat(g.Max)}
			if b := g.Baseline; b != nil {
				gm.Baseline = &baselineModel{Offset: shortDuration(b.Offset), MaxDropPercent: optFloat(b.MaxDropPercent), MaxRisePercent: optFloat(b.MaxRisePercent)}
			}
			am.Metrics = append(am.Metrics, gm)
		}
		m.Acceptance = am
	}
	m.Summary = types.StringValue(p.Summary)
	m.MinDuration = shortDuration(p.MinDuration)
	m.Version = types.Int64Value(p.Version)
	return diags
}

// enumAttributes have OneOf validators, which already report a value
// outside the enum: the engine's message about it would say it twice.
var enumAttributes = []string{"/approval", "/insufficient_data"}

// ValidateConfig applies the engine's rules at plan time, with each problem
// on its attribute, whenever the configuration is fully known.
func (r *canaryPolicyResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m canaryPolicyModel
	if diags := req.Config.Get(ctx, &m); diags.HasError() {
		return // unknown values (from other resources): the engine checks on apply
	}
	spec, known := m.spec(ctx)
	if !known {
		return
	}
	// The engine reads a zero check_interval as "the default"; a
	// configuration that says 0s means it, and it is too short.
	if !m.CheckInterval.IsNull() && spec.CheckInterval == 0 {
		resp.Diagnostics.AddAttributeError(path.Root("check_interval"), "Invalid Value", "check_interval 0s is under 1s: gates are read at most once a second.")
	}
	if err := spec.Validate(); err != nil {
		addValidationErrors(&resp.Diagnostics, err, enumAttributes...)
	}
}

// ModifyPlan plans the project, and the summary and minimum duration of the
// planned stages, so that the plan shows what a release will do.
func (r *canaryPolicyResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	planProject(ctx, r.data.project, req, resp)
	var plan canaryPolicyModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	planned, known := plan.spec(ctx)
	if !known {
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("summary"), planned.Summary())...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("min_duration"), shortDuration(model.Duration(planned.MinDuration())))...)
	if req.State.Raw.IsNull() {
		return
	}
	var state canaryPolicyModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	// When nothing but the spelling of a duration changed, the attribute
	// plan modifiers have restored the prior values; keep the version too,
	// so the plan is empty.
	if prior, _ := state.spec(ctx); reflect.DeepEqual(planned, prior) && plan.Version.IsUnknown() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("version"), state.Version)...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("summary"), state.Summary)...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("min_duration"), state.MinDuration)...)
	}
}

func (r *canaryPolicyResource) project(m *canaryPolicyModel) string {
	if p := m.Project.ValueString(); p != "" {
		return p
	}
	return r.data.project
}

func (r *canaryPolicyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan canaryPolicyModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	spec, _ := plan.spec(ctx)
	project := r.project(&plan)
	p, err := r.data.client.CreateCanaryPolicy(ctx, project, spec, client.NewIdempotencyKey())
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("create canary policy %q in project %q", spec.Name, project), err)
		return
	}
	resp.Diagnostics.Append(plan.fill(ctx, p)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *canaryPolicyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state canaryPolicyModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	project := r.project(&state)
	p, err := r.data.client.GetCanaryPolicy(ctx, project, state.Name.ValueString())
	if isNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("read canary policy %q in project %q", state.Name.ValueString(), project), err)
		return
	}
	resp.Diagnostics.Append(state.fill(ctx, p)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *canaryPolicyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state canaryPolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec, _ := plan.spec(ctx)
	project := r.project(&plan)
	p, err := r.data.client.UpdateCanaryPolicy(ctx, project, spec, state.Version.ValueInt64())
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("update canary policy %q in project %q", spec.Name, project), err)
		return
	}
	resp.Diagnostics.Append(plan.fill(ctx, p)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *canaryPolicyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state canaryPolicyModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	project := r.project(&state)
	err := r.data.client.DeleteCanaryPolicy(ctx, project, state.Name.ValueString(), state.Version.ValueInt64())
	if err != nil && !isNotFound(err) {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("delete canary policy %q in project %q", state.Name.ValueString(), project), err)
	}
}

// ImportState takes "<name>" (the provider's project) or "<project>/<name>".
func (r *canaryPolicyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importProjectAndName(ctx, r.data.project, "policy name", req, resp)
}
