package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var (
	_ datasource.DataSource              = (*engineDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*engineDataSource)(nil)
)

// NewEngineDataSource returns the progressive_engine data source.
func NewEngineDataSource() datasource.DataSource { return &engineDataSource{} }

type engineDataSource struct {
	data *providerData
}

type engineModel struct {
	Endpoint  types.String `tfsdk:"endpoint"`
	Version   types.String `tfsdk:"version"`
	Backend   types.String `tfsdk:"backend"`
	Healthy   types.Bool   `tfsdk:"healthy"`
	Project   types.String `tfsdk:"project"`
	TokenName types.String `tfsdk:"token_name"`
	TokenKind types.String `tfsdk:"token_kind"`
}

func (d *engineDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_engine"
}

func (d *engineDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The Progressive engine the provider talks to: its version, store backend and health, and the token the provider uses. Reading it proves that the endpoint and token work.",
		Attributes: map[string]schema.Attribute{
			"endpoint":   schema.StringAttribute{Computed: true, MarkdownDescription: "The engine's URL."},
			"version":    schema.StringAttribute{Computed: true, MarkdownDescription: "The engine's version."},
			"backend":    schema.StringAttribute{Computed: true, MarkdownDescription: "The engine's store: `sqlite` (embedded) or `postgres`."},
			"healthy":    schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the engine's store answers."},
			"project":    schema.StringAttribute{Computed: true, MarkdownDescription: "The provider's default project."},
			"token_name": schema.StringAttribute{Computed: true, MarkdownDescription: "The name of the provider's token, as the audit log records it."},
			"token_kind": schema.StringAttribute{Computed: true, MarkdownDescription: "The kind of the provider's token: `admin`, `write` or `sdk`."},
		},
	}
}

func (d *engineDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *engineDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	info, err := d.data.client.Engine(ctx)
	if err != nil {
		addError(&resp.Diagnostics, d.data.client, "read the engine's status", err)
		return
	}
	who, err := d.data.client.WhoAmI(ctx)
	if err != nil {
		addError(&resp.Diagnostics, d.data.client, "read the provider's token", err)
		return
	}
	m := engineModel{
		Endpoint:  types.StringValue(d.data.client.Endpoint()),
		Version:   types.StringValue(info.Version),
		Backend:   types.StringValue(info.Backend),
		Healthy:   types.BoolValue(info.Healthy),
		Project:   types.StringValue(d.data.project),
		TokenName: types.StringValue(who.Name),
		TokenKind: types.StringValue(string(who.Kind)),
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
