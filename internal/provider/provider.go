// Package provider is the Terraform provider for Progressive. It stores
// intent in the engine through the /v1 API; the engine alone moves traffic.
package provider

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

var _ provider.Provider = (*progressiveProvider)(nil)

// New returns a provider factory for providerserver.Serve.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &progressiveProvider{version: version} }
}

type progressiveProvider struct {
	version string
}

type providerModel struct {
	Endpoint types.String `tfsdk:"endpoint"`
	Token    types.String `tfsdk:"token"`
	Project  types.String `tfsdk:"project"`
}

// providerData is what resources and data sources receive from Configure.
type providerData struct {
	client  *client.Client
	project string
}

func (p *progressiveProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "progressive"
	resp.Version = p.version
}

func (p *progressiveProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Progressive decouples deployment from release on AWS: blue-green releases, canary policies with automatic rollback, feature toggles served over OFREP and dark launches, driven by the Progressive engine (`progressive serve`).",
		Attributes: map[string]schema.Attribute{
			"endpoint": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "URL of the Progressive engine. Defaults to the `PROGRESSIVE_ENDPOINT` environment variable, then `" + client.DefaultEndpoint + "`.",
			},
			"token": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "A `write` or `admin` token of the engine. Defaults to the `PROGRESSIVE_TOKEN` environment variable. Create one with `progressive token create --kind write --name terraform`.",
			},
			"project": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "The project that resources live in unless they name one. Defaults to the `PROGRESSIVE_PROJECT` environment variable, then `default`.",
				Validators:          []validator.String{nameValidator("project name")},
			},
		},
	}
}

func (p *progressiveProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	endpoint := firstKnown(cfg.Endpoint, "PROGRESSIVE_ENDPOINT", client.DefaultEndpoint)
	token := firstKnown(cfg.Token, "PROGRESSIVE_TOKEN", "")
	project := firstKnown(cfg.Project, "PROGRESSIVE_PROJECT", model.DefaultProject)
	if cfg.Endpoint.IsUnknown() || cfg.Token.IsUnknown() {
		// Values from resources not yet created: configure on apply.
		return
	}
	if token == "" {
		resp.Diagnostics.AddAttributeError(path.Root("token"), "Missing Engine Token",
			"The provider needs a token of the Progressive engine to manage objects. Set `token` in the provider block or the PROGRESSIVE_TOKEN environment variable. "+
				"Create a token with `progressive token create --kind write --name terraform` (run it with the admin token that the engine printed on its first start).")
		return
	}
	var problems model.Problems
	model.ValidateName(&problems, "/project", project, "project name")
	if err := problems.Err(); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("project"), "Invalid Project", err.Error()+". Set `project` or PROGRESSIVE_PROJECT to an existing project's name.")
		return
	}
	c, err := client.New(endpoint, token, client.WithUserAgent("terraform-provider-progressive/"+p.version))
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Invalid Engine Endpoint", err.Error()+". Set `endpoint` or PROGRESSIVE_ENDPOINT.")
		return
	}
	data := &providerData{client: c, project: project}
	resp.ResourceData = data
	resp.DataSourceData = data
}

func firstKnown(v types.String, env, def string) string {
	if !v.IsNull() && !v.IsUnknown() && v.ValueString() != "" {
		return v.ValueString()
	}
	if e := os.Getenv(env); e != "" {
		return e
	}
	return def
}

func (p *progressiveProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewProjectResource,
		NewToggleResource,
		NewEnvironmentResource,
		NewReleaseResource,
		NewCanaryPolicyResource,
		NewDarkLaunchResource,
	}
}

func (p *progressiveProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewEngineDataSource,
		NewToggleDataSource,
		NewEnvironmentDataSource,
		NewCanaryPolicyDataSource,
		NewDarkLaunchDataSource,
	}
}

// providerDataFrom is what every resource and data source does in Configure.
func providerDataFrom(v any, diags *diag.Diagnostics) *providerData {
	if v == nil {
		return nil
	}
	data, ok := v.(*providerData)
	if !ok {
		diags.AddError("Unexpected Provider Data", fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider.", v))
	}
	return data
}
