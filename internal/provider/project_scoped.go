package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// planProject plans an unset `project` as the one the object already lives
// in, or for a new object the provider's, so that plans show where it goes.
func planProject(ctx context.Context, def string, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	var configured, planned types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("project"), &configured)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("project"), &planned)...)
	if !configured.IsNull() || !planned.IsUnknown() {
		return
	}
	project := types.StringValue(def)
	if !req.State.Raw.IsNull() {
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("project"), &project)...)
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("project"), project)...)
}

// importProjectAndName reads an import ID "<name>" (in the provider's
// project) or "<project>/<name>" into the project and name attributes.
func importProjectAndName(ctx context.Context, def, what string, req resource.ImportStateRequest, resp *resource.ImportStateResponse, nameAttr ...string) {
	attr := "name"
	if len(nameAttr) > 0 {
		attr = nameAttr[0]
	}
	project, name, found := strings.Cut(req.ID, "/")
	if !found {
		project, name = def, req.ID
	}
	var p model.Problems
	model.ValidateName(&p, "", project, "project name")
	if err := p.Err(); err != nil || name == "" || strings.Contains(name, "/") {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("The import ID %q is not a %s or <project>/<%s>, such as \"checkout/%s\".", req.ID, what, attr, "example"))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("project"), project)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attr), name)...)
}
