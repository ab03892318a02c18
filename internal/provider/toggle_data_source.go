package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var (
	_ datasource.DataSource              = (*toggleDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*toggleDataSource)(nil)
)

// NewToggleDataSource returns the progressive_feature_toggle data source.
func NewToggleDataSource() datasource.DataSource { return &toggleDataSource{} }

type toggleDataSource struct {
	data *providerData
}

type toggleStatusModel struct {
	Project          types.String `tfsdk:"project"`
	Key              types.String `tfsdk:"key"`
	Version          types.Int64  `tfsdk:"version"`
	Enabled          types.Bool   `tfsdk:"enabled"`
	EffectiveEnabled types.Bool   `tfsdk:"effective_enabled"`
	HeldBy           types.String `tfsdk:"held_by"`
	HoldName         types.String `tfsdk:"hold_name"`
	HeldSince        types.String `tfsdk:"held_since"`
}

func (d *toggleDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_feature_toggle"
}

func (d *toggleDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "What a feature toggle serves right now. `effective_enabled` is false while the kill switch is off or a CloudWatch alarm holds the toggle off; it changes without anyone editing the toggle, which is why it lives here and not in the resource.",
		Attributes: map[string]schema.Attribute{
			"project": schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: "The toggle's project. Defaults to the provider's `project`.",
				Validators: []validator.String{nameValidator("project name")}},
			"key":               schema.StringAttribute{Required: true, MarkdownDescription: "The toggle's key."},
			"version":           schema.Int64Attribute{Computed: true, MarkdownDescription: "The toggle's version."},
			"enabled":           schema.BoolAttribute{Computed: true, MarkdownDescription: "The kill switch as configured."},
			"effective_enabled": schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the toggle is being served as enabled right now."},
			"held_by":           schema.StringAttribute{Computed: true, MarkdownDescription: "`alarm` while a CloudWatch alarm holds the toggle off; empty otherwise."},
			"hold_name":         schema.StringAttribute{Computed: true, MarkdownDescription: "The alarm holding the toggle off, if any."},
			"held_since":        schema.StringAttribute{Computed: true, MarkdownDescription: "When the hold began (RFC 3339), if any."},
		},
	}
}

func (d *toggleDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *toggleDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m toggleStatusModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	project := m.Project.ValueString()
	if project == "" {
		project = d.data.project
	}
	st, err := d.data.client.ToggleStatus(ctx, project, m.Key.ValueString())
	if err != nil {
		addError(&resp.Diagnostics, d.data.client, fmt.Sprintf("read the status of toggle %q in project %q", m.Key.ValueString(), project), err)
		return
	}
	m.Project = types.StringValue(project)
	m.Version = types.Int64Value(st.Version)
	m.Enabled = types.BoolValue(st.Enabled)
	m.EffectiveEnabled = types.BoolValue(st.EffectiveEnabled)
	m.HeldBy, m.HoldName, m.HeldSince = types.StringValue(""), types.StringValue(""), types.StringValue("")
	if st.Hold != nil {
		m.HeldBy = types.StringValue(st.Hold.Kind)
		m.HoldName = types.StringValue(st.Hold.Name)
		m.HeldSince = types.StringValue(st.Hold.Since.Format(time.RFC3339))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
