package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var (
	_ datasource.DataSource              = (*canaryPolicyDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*canaryPolicyDataSource)(nil)
)

// NewCanaryPolicyDataSource returns the progressive_canary_policy data source.
func NewCanaryPolicyDataSource() datasource.DataSource { return &canaryPolicyDataSource{} }

type canaryPolicyDataSource struct {
	data *providerData
}

type canaryPolicyInfoModel struct {
	Project       types.String         `tfsdk:"project"`
	Name          types.String         `tfsdk:"name"`
	Version       types.Int64          `tfsdk:"version"`
	CheckInterval timetypes.GoDuration `tfsdk:"check_interval"`
	Summary       types.String         `tfsdk:"summary"`
	MinDuration   timetypes.GoDuration `tfsdk:"min_duration"`
	Stages        []stageInfoModel     `tfsdk:"stages"`
	AlarmNames    []types.String       `tfsdk:"alarm_names"`
}

type stageInfoModel struct {
	Name           types.String         `tfsdk:"name"`
	TrafficPercent types.Int64          `tfsdk:"traffic_percent"`
	BakeTime       timetypes.GoDuration `tfsdk:"bake_time"`
	Approval       types.String         `tfsdk:"approval"`
	Audience       types.Bool           `tfsdk:"audience"`
}

func (d *canaryPolicyDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_canary_policy"
}

func (d *canaryPolicyDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	duration := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{CustomType: timetypes.GoDurationType{}, Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A canary policy managed elsewhere (for example by a platform team's workspace): refer to it by name from an environment's `canary_policy`, so that the plan fails early when it does not exist, and show what a release under it does.",
		Attributes: map[string]schema.Attribute{
			"project": schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: "The policy's project. Defaults to the provider's `project`.",
				Validators: []validator.String{nameValidator("project name")}},
			"name":           schema.StringAttribute{Required: true, MarkdownDescription: "The policy's name."},
			"version":        schema.Int64Attribute{Computed: true, MarkdownDescription: "The policy's version; a release pins the version it started with."},
			"check_interval": duration("How often the gates are read."),
			"summary":        schema.StringAttribute{Computed: true, MarkdownDescription: "The stages with their bake times and the least time a release takes, such as `employees 10m → early-customers 15m → fleet 15m, at least 40m`."},
			"min_duration":   duration("The sum of the stages' bake times."),
			"stages": schema.ListNestedAttribute{
				Computed: true, MarkdownDescription: "The stages, in order.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":            schema.StringAttribute{Computed: true, MarkdownDescription: "The stage's name."},
					"traffic_percent": schema.Int64Attribute{Computed: true, MarkdownDescription: "The share of ordinary traffic on the new slot."},
					"bake_time":       duration("How long the gates must hold."),
					"approval":        schema.StringAttribute{Computed: true, MarkdownDescription: "`automatic` or `manual`."},
					"audience":        schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the stage sends an audience to the new slot (which needs an environment with `alb`)."},
				}},
			},
			"alarm_names": schema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: "The alarms of the acceptance gate."},
		},
	}
}

func (d *canaryPolicyDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *canaryPolicyDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m canaryPolicyInfoModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	project := m.Project.ValueString()
	if project == "" {
		project = d.data.project
	}
	p, err := d.data.client.GetCanaryPolicy(ctx, project, m.Name.ValueString())
	if err != nil {
		addError(&resp.Diagnostics, d.data.client, fmt.Sprintf("read canary policy %q in project %q", m.Name.ValueString(), project), err)
		return
	}
	m.Project = types.StringValue(p.Project)
	m.Version = types.Int64Value(p.Version)
	m.CheckInterval = shortDuration(p.CheckInterval)
	m.Summary = types.StringValue(p.Summary)
	m.MinDuration = shortDuration(p.MinDuration)
	m.Stages = []stageInfoModel{}
	for _, st := range p.Stages {
		m.Stages = append(m.Stages, stageInfoModel{Name: types.StringValue(st.Name), TrafficPercent: types.Int64Value(int64(st.TrafficPercent)),
			BakeTime: shortDuration(st.BakeTime), Approval: types.StringValue(st.Approval), Audience: types.BoolValue(st.Audience != nil)})
	}
	m.AlarmNames = []types.String{}
	for _, a := range p.Acceptance.AlarmNames {
		m.AlarmNames = append(m.AlarmNames, types.StringValue(a))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
