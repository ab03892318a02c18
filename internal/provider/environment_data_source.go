package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

var (
	_ datasource.DataSource              = (*environmentDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*environmentDataSource)(nil)
)

// NewEnvironmentDataSource returns the progressive_release_environment data source.
func NewEnvironmentDataSource() datasource.DataSource { return &environmentDataSource{} }

type environmentDataSource struct {
	data *providerData
}

type environmentLiveModel struct {
	Project       types.String `tfsdk:"project"`
	Name          types.String `tfsdk:"name"`
	ActiveSlot    types.String `tfsdk:"active_slot"`
	IdleSlot      types.String `tfsdk:"idle_slot"`
	BlueWeight    types.Int64  `tfsdk:"blue_weight"`
	GreenWeight   types.Int64  `tfsdk:"green_weight"`
	ReleaseID     types.String `tfsdk:"release_id"`
	ReleaseStatus types.String `tfsdk:"release_status"`
	ReleasePhase  types.String `tfsdk:"release_phase"`
	Stage         types.Int64  `tfsdk:"stage"`
	Message       types.String `tfsdk:"message"`
}

func (d *environmentDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_release_environment"
}

func (d *environmentDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The live state of a blue-green environment, for dashboards and scripts: the weights AWS holds per slot right now, and the current release with its phase and stage. These figures move during a release, which is why they are here and not in the resource's state.",
		Attributes: map[string]schema.Attribute{
			"project": schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: "The project. Defaults to the provider's `project`.",
				Validators: []validator.String{nameValidator("project name")}},
			"name":           schema.StringAttribute{Required: true, MarkdownDescription: "The environment's name."},
			"active_slot":    schema.StringAttribute{Computed: true, MarkdownDescription: "The slot serving customers."},
			"idle_slot":      schema.StringAttribute{Computed: true, MarkdownDescription: "The other slot."},
			"blue_weight":    schema.Int64Attribute{Computed: true, MarkdownDescription: "Percent of traffic on blue, read from AWS."},
			"green_weight":   schema.Int64Attribute{Computed: true, MarkdownDescription: "Percent of traffic on green, read from AWS."},
			"release_id":     schema.StringAttribute{Computed: true, MarkdownDescription: "The latest release attempt, if any."},
			"release_status": schema.StringAttribute{Computed: true, MarkdownDescription: "`idle`, `progressing`, `paused`, `released`, `rolled_back` or `failed`."},
			"release_phase":  schema.StringAttribute{Computed: true, MarkdownDescription: "The state machine's phase (`checking`, `shifting`, `baking`, …)."},
			"stage":          schema.Int64Attribute{Computed: true, MarkdownDescription: "The current stage (0 for an all-at-once release)."},
			"message":        schema.StringAttribute{Computed: true, MarkdownDescription: "What the release is doing, or why it ended."},
		},
	}
}

func (d *environmentDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *environmentDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m environmentLiveModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	project := m.Project.ValueString()
	if project == "" {
		project = d.data.project
	}
	name := m.Name.ValueString()
	c := d.data.client
	env, err := c.GetEnvironment(ctx, project, name)
	if err != nil {
		addError(&resp.Diagnostics, c, fmt.Sprintf("read environment %q in project %q", name, project), err)
		return
	}
	tr, err := c.Traffic(ctx, project, name)
	if err != nil {
		addError(&resp.Diagnostics, c, fmt.Sprintf("read the live traffic of %q", name), err)
		return
	}
	m.Project = types.StringValue(project)
	m.ActiveSlot, m.IdleSlot = types.StringValue(env.ActiveSlot), types.StringValue(env.IdleSlot)
	m.BlueWeight, m.GreenWeight = types.Int64Value(int64(tr.Blue)), types.Int64Value(int64(tr.Green))
	m.ReleaseID, m.ReleaseStatus, m.ReleasePhase, m.Message = types.StringValue(""), types.StringValue(string(model.ReleaseStatusIdle)), types.StringValue(""), types.StringValue("")
	m.Stage = types.Int64Value(0)
	rel, err := c.GetRelease(ctx, project, name)
	switch {
	case isNotFound(err):
	case err != nil:
		addError(&resp.Diagnostics, c, fmt.Sprintf("read the release of %q", name), err)
		return
	case rel.Current != nil:
		cur := rel.Current
		m.ReleaseID, m.ReleaseStatus, m.ReleasePhase = types.StringValue(cur.ID), types.StringValue(string(rel.Status)), types.StringValue(string(cur.Phase))
		m.Stage, m.Message = types.Int64Value(int64(cur.StageIndex)), types.StringValue(cur.Message)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
