package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

var (
	_ resource.Resource                = (*projectResource)(nil)
	_ resource.ResourceWithConfigure   = (*projectResource)(nil)
	_ resource.ResourceWithImportState = (*projectResource)(nil)
)

// NewProjectResource returns the progressive_project resource.
func NewProjectResource() resource.Resource { return &projectResource{} }

type projectResource struct {
	data *providerData
}

type projectModel struct {
	Name        types.String `tfsdk:"name"`
	Description types.String `tfsdk:"description"`
	Version     types.Int64  `tfsdk:"version"`
	CreatedAt   types.String `tfsdk:"created_at"`
}

func (r *projectResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_project"
}

func (r *projectResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A project: a namespace for a team's releases, policies, toggles and dark launches. Every object lives in one project, and URLs and import IDs carry it.",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The project's name: 1 to 63 lower-case letters, digits and hyphens, starting with a letter or digit. Changing it replaces the project.",
				Validators:          []validator.String{nameValidator("project name")},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"description": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(""),
				MarkdownDescription: "What the project is for (at most 1024 characters).",
				Validators:          []validator.String{descriptionValidator()},
			},
			"version": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "The engine's version of the project; it changes only when the project's settings do.",
			},
			"created_at": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "When the project was created (RFC 3339).",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

func (r *projectResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (m *projectModel) fill(p model.Project) {
	m.Name = types.StringValue(p.Name)
	m.Description = types.StringValue(p.Description)
	m.Version = types.Int64Value(p.Version)
	m.CreatedAt = types.StringValue(p.CreatedAt.Format(time.RFC3339))
}

func (r *projectResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan projectModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec := model.ProjectSpec{Name: plan.Name.ValueString(), Description: plan.Description.ValueString()}
	p, err := r.data.client.CreateProject(ctx, spec, client.NewIdempotencyKey())
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("create project %q", spec.Name), err)
		return
	}
	plan.fill(p)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *projectResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state projectModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	p, err := r.data.client.GetProject(ctx, state.Name.ValueString())
	if isNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("read project %q", state.Name.ValueString()), err)
		return
	}
	state.fill(p)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *projectResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state projectModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec := model.ProjectSpec{Name: plan.Name.ValueString(), Description: plan.Description.ValueString()}
	p, err := r.data.client.UpdateProject(ctx, spec, state.Version.ValueInt64())
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("update project %q", spec.Name), err)
		return
	}
	plan.fill(p)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *projectResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state projectModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	err := r.data.client.DeleteProject(ctx, state.Name.ValueString(), state.Version.ValueInt64())
	if err != nil && !isNotFound(err) {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("delete project %q", state.Name.ValueString()), err)
	}
}

func (r *projectResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	var p model.Problems
	model.ValidateName(&p, "", req.ID, "project name")
	if err := p.Err(); err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("The import ID must be a project's name, such as \"checkout-team\": %s.", err.Error()))
		return
	}
	resource.ImportStatePassthroughID(ctx, path.Root("name"), req, resp)
}
