package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

var (
	_ datasource.DataSource              = (*darkLaunchDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*darkLaunchDataSource)(nil)
)

// NewDarkLaunchDataSource returns the progressive_dark_launch data source.
func NewDarkLaunchDataSource() datasource.DataSource { return &darkLaunchDataSource{} }

type darkLaunchDataSource struct {
	data *providerData
}

type darkLaunchStatusModel struct {
	Project       types.String         `tfsdk:"project"`
	Name          types.String         `tfsdk:"name"`
	Status        types.String         `tfsdk:"status"`
	Message       types.String         `tfsdk:"message"`
	ReleaseToggle types.String         `tfsdk:"release_toggle"`
	Held          types.Bool           `tfsdk:"held"`
	ProvenAt      types.String         `tfsdk:"proven_at"`
	MinRequests   types.Int64          `tfsdk:"min_requests"`
	Requests      types.Int64          `tfsdk:"requests"`
	Synthetic     types.Int64          `tfsdk:"synthetic"`
	Errors        types.Int64          `tfsdk:"errors"`
	ErrorRate     types.Float64        `tfsdk:"error_rate"`
	P50Latency    timetypes.GoDuration `tfsdk:"p50_latency"`
	P99Latency    timetypes.GoDuration `tfsdk:"p99_latency"`
	Compared      types.Int64          `tfsdk:"compared"`
	Diffs         types.Int64          `tfsdk:"diffs"`
	DiffRate      types.Float64        `tfsdk:"diff_rate"`
	Dropped       types.Int64          `tfsdk:"dropped"`
	Skipped       types.Int64          `tfsdk:"skipped"`
}

func (d *darkLaunchDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dark_launch"
}

func (d *darkLaunchDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	count := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Computed: true, MarkdownDescription: desc}
	}
	latency := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{CustomType: timetypes.GoDurationType{}, Computed: true, MarkdownDescription: desc + " A Go duration such as `42ms`; `0s` before any request."}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A dark launch's live figures, as of this read: what the mirrored copies and the synthetic load met at the dark backend since it started collecting (or was last reset), " +
			"and whether its release toggle is still held. These move every few seconds, which is why the `progressive_dark_launch` resource keeps only `status` and `proven_at`; " +
			"`progressive dark status <name>` shows the same, and `progressive dark diff <name>` the sample diffs.",
		Attributes: map[string]schema.Attribute{
			"project": schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: "The dark launch's project. Defaults to the provider's `project`.",
				Validators: []validator.String{nameValidator("project name")}},
			"name":           schema.StringAttribute{Required: true, MarkdownDescription: "The dark launch's name."},
			"status":         schema.StringAttribute{Computed: true, MarkdownDescription: "`collecting`, `proven`, `failed` or `paused`."},
			"message":        schema.StringAttribute{Computed: true, MarkdownDescription: "Why the status is what it is: the progress while collecting, the figures that proved it, or the bound a failed launch exceeded."},
			"release_toggle": schema.StringAttribute{Computed: true, MarkdownDescription: "The toggle the dark launch holds, or `\"\"`."},
			"held":           schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether `release_toggle` is held to its off variant: true while the launch names a toggle and is not proven."},
			"proven_at":      schema.StringAttribute{Computed: true, MarkdownDescription: "When the launch was proven (RFC 3339), or `\"\"`."},
			"min_requests":   count("The requests needed before a verdict (`acceptance.min_requests`)."),
			"requests":       count("Requests that reached the dark backend (answered or failed), mirrored and synthetic."),
			"synthetic":      count("The part of `requests` sent by the synthetic load."),
			"errors":         count("The part of `requests` that failed: 5xx answers, timeouts and connection errors."),
			"error_rate":     schema.Float64Attribute{Computed: true, MarkdownDescription: "`errors` over `requests`, between 0 and 1 (0 without requests)."},
			"p50_latency":    latency("The dark backend's median latency, to the end of the response body."),
			"p99_latency":    latency("The dark backend's 99th percentile latency, checked against `acceptance.max_p99_latency`."),
			"compared":       count("Mirrored requests whose live and dark responses were compared."),
			"diffs":          count("The part of `compared` that differed beyond the ignore lists and the noise."),
			"diff_rate":      schema.Float64Attribute{Computed: true, MarkdownDescription: "`diffs` over `compared`, between 0 and 1 (0 without comparisons)."},
			"dropped":        count("Sampled requests not copied because the proxy's queue was full (the live path never waits), or synthetic requests not sent because too many were in flight."),
			"skipped":        count("Sampled requests not copied because their body was larger than the proxy mirrors."),
		},
	}
}

func (d *darkLaunchDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *darkLaunchDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m darkLaunchStatusModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	project := m.Project.ValueString()
	if project == "" {
		project = d.data.project
	}
	s, err := d.data.client.DarkLaunchStatus(ctx, project, m.Name.ValueString())
	if err != nil {
		addError(&resp.Diagnostics, d.data.client, fmt.Sprintf("read dark launch %q in project %q", m.Name.ValueString(), project), err)
		return
	}
	f := s.Figures
	m.Project = types.StringValue(s.Project)
	m.Status = types.StringValue(s.Status)
	m.Message = types.StringValue(s.Message)
	m.ReleaseToggle = types.StringValue(s.ReleaseToggle)
	m.Held = types.BoolValue(s.Held)
	m.ProvenAt = types.StringValue("")
	if !s.ProvenAt.IsZero() {
		m.ProvenAt = types.StringValue(s.ProvenAt.UTC().Format(time.RFC3339))
	}
	m.MinRequests = types.Int64Value(s.MinRequests)
	m.Requests = types.Int64Value(f.Requests)
	m.Synthetic = types.Int64Value(f.Synthetic)
	m.Errors = types.Int64Value(f.Errors)
	m.ErrorRate = types.Float64Value(f.ErrorRate)
	m.P50Latency = latencyValue(f.P50Latency)
	m.P99Latency = latencyValue(f.P99Latency)
	m.Compared = types.Int64Value(f.Compared)
	m.Diffs = types.Int64Value(f.Diffs)
	m.DiffRate = types.Float64Value(f.DiffRate)
	m.Dropped = types.Int64Value(f.Dropped)
	m.Skipped = types.Int64Value(f.Skipped)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// latencyValue writes a latency to the microsecond ("24.856ms"): the
// histogram behind it is no finer.
func latencyValue(d model.Duration) timetypes.GoDuration {
	return timetypes.NewGoDurationValueFromStringMust(model.ShortDuration(time.Duration(d).Round(time.Microsecond)))
}
