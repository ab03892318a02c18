package provider

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/float64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

var (
	_ resource.Resource                   = (*darkLaunchResource)(nil)
	_ resource.ResourceWithConfigure      = (*darkLaunchResource)(nil)
	_ resource.ResourceWithImportState    = (*darkLaunchResource)(nil)
	_ resource.ResourceWithValidateConfig = (*darkLaunchResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*darkLaunchResource)(nil)
)

// NewDarkLaunchResource returns the progressive_dark_launch resource.
func NewDarkLaunchResource() resource.Resource { return &darkLaunchResource{} }

type darkLaunchResource struct {
	data *providerData
}

type darkLaunchModel struct {
	ID            types.String         `tfsdk:"id"`
	Project       types.String         `tfsdk:"project"`
	Name          types.String         `tfsdk:"name"`
	LiveURL       types.String         `tfsdk:"live_url"`
	DarkURL       types.String         `tfsdk:"dark_url"`
	MirrorPercent types.Float64        `tfsdk:"mirror_percent"`
	Methods       types.List           `tfsdk:"methods"`
	StripHeaders  types.List           `tfsdk:"strip_headers"`
	Compare       *darkCompareModel    `tfsdk:"compare"`
	Synthetic     *syntheticModel      `tfsdk:"synthetic"`
	ALB           *darkALBModel        `tfsdk:"alb"`
	Acceptance    *darkAcceptanceModel `tfsdk:"acceptance"`
	ReleaseToggle types.String         `tfsdk:"release_toggle"`
	Status        types.String         `tfsdk:"status"`
	ProvenAt      types.String         `tfsdk:"proven_at"`
	Version       types.Int64          `tfsdk:"version"`
}

type darkCompareModel struct {
	Enabled         types.Bool   `tfsdk:"enabled"`
	IgnoreHeaders   types.List   `tfsdk:"ignore_headers"`
	IgnoreJSONPaths types.List   `tfsdk:"ignore_json_paths"`
	NoiseURL        types.String `tfsdk:"noise_url"`
}

type syntheticModel struct {
	RequestsPerSecond types.Float64           `tfsdk:"requests_per_second"`
	Requests          []syntheticRequestModel `tfsdk:"request"`
}

type syntheticRequestModel struct {
	Method  types.String `tfsdk:"method"`
	Path    types.String `tfsdk:"path"`
	Headers types.Map    `tfsdk:"headers"`
}

type darkALBModel struct {
	ListenerARN    types.String      `tfsdk:"listener_arn"`
	RulePriority   types.Int64       `tfsdk:"rule_priority"`
	TargetGroupARN types.String      `tfsdk:"target_group_arn"`
	HTTPHeaders    []httpHeaderModel `tfsdk:"http_header"`
}

type darkAcceptanceModel struct {
	MinRequests   types.Int64          `tfsdk:"min_requests"`
	MaxErrorRate  types.Float64        `tfsdk:"max_error_rate"`
	MaxP99Latency timetypes.GoDuration `tfsdk:"max_p99_latency"`
	MaxDiffRate   types.Float64        `tfsdk:"max_diff_rate"`
}

func (r *darkLaunchResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dark_launch"
}

// sideEffectMethods are the mirrorable methods that change things: each
// copy is a second write, to the dark backend and whatever it writes to.
var sideEffectMethods = []string{"POST", "PUT", "PATCH", "DELETE"}

func (r *darkLaunchResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	emptyList := listdefault.StaticValue(types.ListValueMust(types.StringType, []attr.Value{}))
	defaultMethods := make([]attr.Value, len(model.DefaultDarkMethods))
	for i, m := range model.DefaultDarkMethods {
		defaultMethods[i] = types.StringValue(m)
	}
	fromState := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	rate := "A share between 0 and 1: `0.01` is 1 %."
	resp.Schema = schema.Schema{
		MarkdownDescription: "A dark launch: a new backend live in production before any UI uses it. `progressive shadow`, a mirroring proxy in front of the live service, " +
			"copies a share of real requests to `dark_url`, compares the dark responses with the live ones and discards them; the engine can add simulated user actions (`synthetic`). " +
			"Live responses never wait on the dark backend. Once `min_requests` copies have reached it within the `acceptance` bounds, the launch is `proven`, " +
			"and only then may its `release_toggle` serve anything but its off variant.\n\n" +
			"~> **Mirroring has side effects for methods that write.** By default only `GET` and `HEAD` are mirrored. A copy of a `POST`, `PUT`, `PATCH` or `DELETE` is a second write, " +
			"made by the dark backend to whatever it writes to (databases, queues, payment and e-mail providers): mirror them only to a backend whose writes are isolated or harmless, and name them in `methods` explicitly.\n\n" +
			"State holds the launch's intent and its slow facts (`status`, `proven_at`). The live figures (requests, error rate, latency, diff rate, dropped copies) change every few seconds, " +
			"so they live in the `progressive_dark_launch` data source and in `progressive dark status <name>`, and plans stay quiet while the launch collects.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true, MarkdownDescription: "`<project>/<name>`.",
				PlanModifiers: fromState,
			},
			"project": schema.StringAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "The project the dark launch lives in, with its `release_toggle`. Defaults to the provider's `project`. Changing it replaces the dark launch.",
				Validators:          []validator.String{nameValidator("project name")},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "1 to 63 lower-case letters, digits and hyphens, such as `chat-backend`: what `progressive shadow --dark-launch` and `progressive dark` name. " +
					"Changing it replaces the dark launch, which starts collecting afresh.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"live_url": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The live upstream, whose responses users get: an `http://` or `https://` base URL such as `http://chat-v1.internal:8080` (each request's path and query are appended).",
			},
			"dark_url": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The dark upstream, which gets the mirrored copies and the synthetic load; its responses are compared and discarded. Must not be `live_url`.",
			},
			"mirror_percent": schema.Float64Attribute{
				Required:            true,
				MarkdownDescription: "0 to 100, with at most 3 decimals: the share of live requests (of the mirrored `methods`) copied to the dark backend. `0` mirrors nothing, for a launch fed by `synthetic` load only.",
			},
			"methods": schema.ListAttribute{
				ElementType: types.StringType, Optional: true, Computed: true,
				Default: listdefault.StaticValue(types.ListValueMust(types.StringType, defaultMethods)),
				MarkdownDescription: "The request methods that are mirrored: a list (kept in the order written) of distinct names among `" + strings.Join(model.DarkMethods, "`, `") + "`. Defaults to `[\"GET\", \"HEAD\"]`. " +
					"Methods with side effects (`POST`, `PUT`, `PATCH`, `DELETE`) are mirrored only when named here: see the warning above.",
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues()},
			},
			"strip_headers": schema.ListAttribute{
				ElementType: types.StringType, Optional: true, Computed: true, Default: emptyList,
				MarkdownDescription: "Headers removed from the mirrored copies, such as `[\"Cookie\"]`. `Authorization`, `Cookie` and `Set-Cookie` are always redacted from the sample diffs the engine keeps.",
			},
			"release_toggle": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The key of a `progressive_feature_toggle` in the same project that the dark launch holds: until the launch is `proven`, the toggle serves only its off variant " +
					"(all-on test tokens still get its on variant), and an apply that would make it serve anything else is refused with the launch's progress. " +
					"The toggle must exist and serve only its off variant (for example `enabled = false`) when the dark launch starts holding it. Deleting the dark launch releases the hold.",
			},
			"status": schema.StringAttribute{
				Computed: true, PlanModifiers: fromState,
				MarkdownDescription: "`collecting`, `proven`, `failed` or `paused`, as of the last refresh. It moves by itself as the engine reaches a verdict; a refresh records that without a plan diff. " +
					"`progressive dark reset <name>` collects afresh after a failure.",
			},
			"proven_at": schema.StringAttribute{
				Computed: true, PlanModifiers: fromState,
				MarkdownDescription: "When the launch was proven (RFC 3339), as of the last refresh; null until then.",
			},
			"version": schema.Int64Attribute{
				Computed: true, MarkdownDescription: "The engine's version of the dark launch; only changes to its settings bump it.",
			},
		},
		Blocks: map[string]schema.Block{
			"compare": schema.SingleNestedBlock{
				MarkdownDescription: "How live and dark responses of mirrored requests are compared: status, headers and body, JSON-aware. Without the block, every response is compared and nothing is ignored.",
				Attributes: map[string]schema.Attribute{
					"enabled": schema.BoolAttribute{
						Optional: true, Computed: true, Default: booldefault.StaticBool(true),
						MarkdownDescription: "`false` only counts the dark backend's errors and latency, and `max_diff_rate` is not checked. Defaults to `true`.",
					},
					"ignore_headers": schema.ListAttribute{
						ElementType: types.StringType, Optional: true, Computed: true, Default: emptyList,
						MarkdownDescription: "Response headers left out of the comparison, such as `[\"Date\", \"X-Request-Id\"]`.",
					},
					"ignore_json_paths": schema.ListAttribute{
						ElementType: types.StringType, Optional: true, Computed: true, Default: emptyList,
						MarkdownDescription: "JSONPath expressions of body fields left out of the comparison: `$.field`, `$.list[*].field` or `$['key']`, such as `[\"$.timestamp\", \"$.items[*].etag\"]`.",
					},
					"noise_url": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: "A second instance of the live version. Each compared request also goes there, and a field that differs between live and noise is noise, not a difference (Diffy's method): " +
							"timestamps, random IDs and other values that vary by themselves.",
					},
				},
			},
			"synthetic": schema.SingleNestedBlock{
				MarkdownDescription: "Simulated user actions the engine sends to `dark_url` itself, in turn, while the launch collects or is proven (pause and failure stop them). Synthetic requests count towards `min_requests`; they are not compared.",
				Attributes: map[string]schema.Attribute{
					"requests_per_second": schema.Float64Attribute{
						Optional:            true,
						MarkdownDescription: "The rate of the simulated requests, above 0 and at most 10000. Required in a `synthetic` block.",
					},
				},
				Blocks: map[string]schema.Block{
					"request": schema.ListNestedBlock{
						MarkdownDescription: "One simulated action; repeat the block for several. At least one is needed.",
						NestedObject: schema.NestedBlockObject{
							Attributes: map[string]schema.Attribute{
								"method": schema.StringAttribute{Required: true, MarkdownDescription: "One of `" + strings.Join(model.DarkMethods, "`, `") + "`."},
								"path":   schema.StringAttribute{Required: true, MarkdownDescription: "The path (and query) appended to `dark_url`, starting with `/`, such as `/api/rooms/42/messages`."},
								"headers": schema.MapAttribute{
									ElementType: types.StringType, Optional: true,
									MarkdownDescription: "Request headers, such as `{ \"X-User\" = \"synthetic\" }`.",
								},
							},
						},
					},
				},
			},
			"alb": schema.SingleNestedBlock{
				MarkdownDescription: "A preview rule: testers reach the dark backend through the real load balancer by sending a header. The engine creates and owns a listener rule that forwards matching requests " +
					"to the dark target group, and removes it when the dark launch is deleted. The user's other rules and default action are never touched.",
				Attributes: map[string]schema.Attribute{
					"listener_arn":     schema.StringAttribute{Optional: true, MarkdownDescription: "The listener of the load balancer users reach. Required in an `alb` block."},
					"rule_priority":    schema.Int64Attribute{Optional: true, MarkdownDescription: fmt.Sprintf("1 to %d: the priority of the engine's rule, which must be free on the listener. Required in an `alb` block.", model.MaxRulePriority)},
					"target_group_arn": schema.StringAttribute{Optional: true, MarkdownDescription: "The dark backend's target group. Required in an `alb` block."},
				},
				Blocks: map[string]schema.Block{
					"http_header": schema.ListNestedBlock{
						MarkdownDescription: fmt.Sprintf("A request header that must match one of `values`; repeat the block for several headers, which must all match. At least one is needed, with at most %d values in all (ALB's limit of condition values per rule).", model.MaxConditionValues),
						NestedObject: schema.NestedBlockObject{
							Attributes: map[string]schema.Attribute{
								"name": schema.StringAttribute{Required: true, MarkdownDescription: "The header name, such as `x-dark-launch`."},
								"values": schema.ListAttribute{
									ElementType: types.StringType, Required: true,
									MarkdownDescription: "Values, any of which matches (1 to 128 characters each; `*` and `?` are wildcards).",
								},
							},
						},
					},
				},
			},
			"acceptance": schema.SingleNestedBlock{
				MarkdownDescription: "What the dark backend must show before the launch is proven; every dark launch needs this block. Once `min_requests` copies (mirrored and synthetic) have reached it, the engine decides: " +
					"`proven` when every bound holds, otherwise `failed`, with an audit event and a status message that names the bound exceeded.",
				Attributes: map[string]schema.Attribute{
					"min_requests": schema.Int64Attribute{
						Required:            true,
						MarkdownDescription: "Requests that must reach the dark backend before a verdict (at least one is always needed), such as `10000`.",
					},
					"max_error_rate": schema.Float64Attribute{
						Required:            true,
						MarkdownDescription: "The highest share of copies that may fail at the dark backend: 5xx answers, timeouts and connection errors. " + rate,
					},
					"max_p99_latency": schema.StringAttribute{
						CustomType: timetypes.GoDurationType{}, Optional: true,
						PlanModifiers:       []planmodifier.String{sameDuration{}},
						MarkdownDescription: "The highest 99th percentile of the dark backend's latency, such as `300ms`; a Go duration, where `0.3s` and `300ms` are the same. Unset, latency is not a bound.",
					},
					"max_diff_rate": schema.Float64Attribute{
						Optional: true, Computed: true, Default: float64default.StaticFloat64(0),
						MarkdownDescription: "The highest share of compared responses that may differ beyond the ignore lists and the noise. " + rate + " Defaults to 0. Not checked with `compare { enabled = false }`.",
					},
				},
			},
		},
	}
}

func (r *darkLaunchResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// darkSpecReader converts a model to a spec, remembering the JSON Pointers
// (the engine's field names) of the values that are not known yet.
type darkSpecReader struct {
	ctx     context.Context
	unknown []string
}

func (r *darkSpecReader) mark(ptr string, unknown bool) {
	if unknown {
		r.unknown = append(r.unknown, ptr)
	}
}

func (r *darkSpecReader) str(ptr string, v types.String) string {
	r.mark(ptr, v.IsUnknown())
	return v.ValueString()
}

func (r *darkSpecReader) float(ptr string, v types.Float64) float64 {
	r.mark(ptr, v.IsUnknown())
	return v.ValueFloat64()
}

func (r *darkSpecReader) int(ptr string, v types.Int64) int64 {
	r.mark(ptr, v.IsUnknown())
	return v.ValueInt64()
}

// list reads a list of strings; one unknown element makes the list unknown.
func (r *darkSpecReader) list(ptr string, v types.List) []string {
	var elems []types.String
	if v.IsUnknown() || v.ElementsAs(r.ctx, &elems, false).HasError() {
		r.mark(ptr, true)
		return nil
	}
	var out []string
	for _, e := range elems {
		r.mark(ptr, e.IsUnknown())
		out = append(out, e.ValueString())
	}
	return out
}

func (r *darkSpecReader) strMap(ptr string, v types.Map) map[string]string {
	var elems map[string]types.String
	if v.IsUnknown() || v.ElementsAs(r.ctx, &elems, false).HasError() {
		r.mark(ptr, true)
		return nil
	}
	var out map[string]string
	for k, e := range elems {
		if out == nil {
			out = map[string]string{}
		}
		r.mark(ptr, e.IsUnknown())
		out[k] = e.ValueString()
	}
	return out
}

// spec converts the model. It returns the pointers of unknown values, so
// that validation can skip what it cannot judge yet; unset values stay
// unset, as the engine fills its defaults the way the schema does.
func (m *darkLaunchModel) spec(ctx context.Context) (model.DarkLaunchSpec, []string) {
	r := &darkSpecReader{ctx: ctx}
	s := model.DarkLaunchSpec{
		Name: r.str("/name", m.Name), LiveURL: r.str("/live_url", m.LiveURL), DarkURL: r.str("/dark_url", m.DarkURL),
		MirrorPercent: r.float("/mirror_percent", m.MirrorPercent),
		Methods:       r.list("/methods", m.Methods), StripHeaders: r.list("/strip_headers", m.StripHeaders),
		ReleaseToggle: r.str("/release_toggle", m.ReleaseToggle),
	}
	if c := m.Compare; c != nil {
		if r.mark("/compare/enabled", c.Enabled.IsUnknown()); !c.Enabled.IsNull() && !c.Enabled.IsUnknown() {
			on := c.Enabled.ValueBool()
			s.Compare.Enabled = &on
		}
		s.Compare.IgnoreHeaders = r.list("/compare/ignore_headers", c.IgnoreHeaders)
		s.Compare.IgnoreJSONPaths = r.list("/compare/ignore_json_paths", c.IgnoreJSONPaths)
		s.Compare.NoiseURL = r.str("/compare/noise_url", c.NoiseURL)
	}
	if sy := m.Synthetic; sy != nil {
		s.Synthetic = &model.Synthetic{RequestsPerSecond: r.float("/synthetic/requests_per_second", sy.RequestsPerSecond)}
		for i, q := range sy.Requests {
			base := model.Pointer("synthetic", "requests", i)
			s.Synthetic.Requests = append(s.Synthetic.Requests, model.SyntheticRequest{
				Method: r.str(base+"/method", q.Method), Path: r.str(base+"/path", q.Path), Headers: r.strMap(base+"/headers", q.Headers),
			})
		}
	}
	if a := m.ALB; a != nil {
		s.ALB = &model.DarkALB{ListenerARN: r.str("/alb/listener_arn", a.ListenerARN), RulePriority: int(r.int("/alb/rule_priority", a.RulePriority)),
			TargetGroupARN: r.str("/alb/target_group_arn", a.TargetGroupARN)}
		for i, h := range a.HTTPHeaders {
			base := model.Pointer("alb", "http_headers", i)
			s.ALB.HTTPHeaders = append(s.ALB.HTTPHeaders, model.HTTPHeader{Name: r.str(base+"/name", h.Name), Values: r.list(base+"/values", h.Values)})
		}
	}
	if a := m.Acceptance; a != nil {
		s.Acceptance = model.DarkAcceptance{MinRequests: r.int("/acceptance/min_requests", a.MinRequests),
			MaxErrorRate: r.float("/acceptance/max_error_rate", a.MaxErrorRate), MaxDiffRate: r.float("/acceptance/max_diff_rate", a.MaxDiffRate)}
		known := true
		s.Acceptance.MaxP99Latency = dur(a.MaxP99Latency, &known)
		r.mark("/acceptance/max_p99_latency", !known)
	}
	return s, r.unknown
}

// ValidateConfig applies the engine's rules at plan time, with each problem
// on its attribute. Values not known yet (an ARN from a resource still to be
// created) are left to the engine on apply; every other value is judged.
func (r *darkLaunchResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m darkLaunchModel
	if diags := req.Config.Get(ctx, &m); diags.HasError() {
		return // repeated blocks not known yet (dynamic blocks): the engine checks on apply
	}
	if m.Acceptance == nil {
		resp.Diagnostics.AddAttributeError(path.Root("acceptance"), "Missing Acceptance Block",
			"A dark launch is proven against its acceptance bounds before its release toggle may turn on, so it needs an acceptance block, such as:\n\n"+
				"  acceptance {\n    min_requests    = 10000\n    max_error_rate  = 0.01\n    max_p99_latency = \"300ms\"\n    max_diff_rate   = 0.02\n  }")
	}
	spec, unknown := m.spec(ctx)
	err := spec.Validate()
	if err == nil {
		return
	}
	var known model.Problems
	var ve *model.ValidationError
	if !errors.As(err, &ve) {
		addValidationErrors(&resp.Diagnostics, err)
		return
	}
	for _, f := range ve.Fields {
		if !slices.ContainsFunc(unknown, func(u string) bool { return f.Pointer == u || strings.HasPrefix(f.Pointer, u+"/") }) {
			known.Add(f.Pointer, f.Detail)
		}
	}
	if err := known.Err(); err != nil {
		addValidationErrors(&resp.Diagnostics, err)
	}
}

// ModifyPlan plans the project; keeps the version when nothing but the
// spelling of a duration changed, so that such a plan is empty; and warns
// when a plan starts mirroring methods with side effects.
func (r *darkLaunchResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	planProject(ctx, r.data.project, req, resp)
	var plan darkLaunchModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	planned, unknown := plan.spec(ctx)
	var prior model.DarkLaunchSpec
	if !req.State.Raw.IsNull() {
		var state darkLaunchModel
		if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
			return
		}
		prior, _ = state.spec(ctx)
		if len(unknown) == 0 && reflect.DeepEqual(planned, prior) && plan.Version.IsUnknown() {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("version"), state.Version)...)
		}
	}
	var added []string
	for _, m := range planned.Methods {
		if slices.Contains(sideEffectMethods, m) && !slices.Contains(prior.Methods, m) {
			added = append(added, m)
		}
	}
	if len(added) > 0 {
		resp.Diagnostics.AddAttributeWarning(path.Root("methods"), "Mirroring Requests With Side Effects",
			fmt.Sprintf("Dark launch %q will mirror %s requests: every copy is a second write, made by the dark backend to whatever it writes to (databases, queues, payment and e-mail providers). "+
				"Apply only if the dark backend's writes are isolated or harmless; otherwise remove %s from `methods`.",
				planned.Name, strings.Join(added, ", "), strings.Join(added, " and ")))
	}
}

// fill sets the model from the engine's answer. Optional blocks absent from
// the configuration stay absent while the engine holds only their defaults.
func (m *darkLaunchModel) fill(ctx context.Context, d wire.DarkLaunch) diag.Diagnostics {
	var diags diag.Diagnostics
	list := func(v []string) types.List {
		l, dg := types.ListValueFrom(ctx, types.StringType, nonNil(v))
		diags.Append(dg...)
		return l
	}
	m.ID = types.StringValue(d.Project + "/" + d.Name)
	m.Project = types.StringValue(d.Project)
	m.Name = types.StringValue(d.Name)
	m.LiveURL = types.StringValue(d.LiveURL)
	m.DarkURL = types.StringValue(d.DarkURL)
	m.MirrorPercent = types.Float64Value(d.MirrorPercent)
	m.Methods = list(d.Methods)
	m.StripHeaders = list(d.StripHeaders)
	c := d.Compare
	if m.Compare != nil || !c.IsEnabled() || len(c.IgnoreHeaders) > 0 || len(c.IgnoreJSONPaths) > 0 || c.NoiseURL != "" {
		m.Compare = &darkCompareModel{Enabled: types.BoolValue(c.IsEnabled()), IgnoreHeaders: list(c.IgnoreHeaders),
			IgnoreJSONPaths: list(c.IgnoreJSONPaths), NoiseURL: optionalString(c.NoiseURL)}
	}
	var prevRequests []syntheticRequestModel
	if m.Synthetic != nil {
		prevRequests = m.Synthetic.Requests
	}
	m.Synthetic = nil
	if sy := d.Synthetic; sy != nil {
		m.Synthetic = &syntheticModel{RequestsPerSecond: types.Float64Value(sy.RequestsPerSecond)}
		for i, q := range sy.Requests {
			headers := types.MapNull(types.StringType)
			if len(q.Headers) > 0 || (i < len(prevRequests) && !prevRequests[i].Headers.IsNull()) {
				var dg diag.Diagnostics
				headers, dg = types.MapValueFrom(ctx, types.StringType, q.Headers)
				diags.Append(dg...)
			}
			m.Synthetic.Requests = append(m.Synthetic.Requests, syntheticRequestModel{Method: types.StringValue(q.Method), Path: types.StringValue(q.Path), Headers: headers})
		}
	}
	m.ALB = nil
	if a := d.ALB; a != nil {
		m.ALB = &darkALBModel{ListenerARN: types.StringValue(a.ListenerARN), RulePriority: types.Int64Value(int64(a.RulePriority)), TargetGroupARN: types.StringValue(a.TargetGroupARN)}
		for _, h := range a.HTTPHeaders {
			m.ALB.HTTPHeaders = append(m.ALB.HTTPHeaders, httpHeaderModel{Name: types.StringValue(h.Name), Values: list(h.Values)})
		}
	}
	a := d.Acceptance
	latency := timetypes.NewGoDurationNull()
	if a.MaxP99Latency != 0 || (m.Acceptance != nil && !m.Acceptance.MaxP99Latency.IsNull()) {
		latency = shortDuration(a.MaxP99Latency)
	}
	m.Acceptance = &darkAcceptanceModel{MinRequests: types.Int64Value(a.MinRequests), MaxErrorRate: types.Float64Value(a.MaxErrorRate),
		MaxP99Latency: latency, MaxDiffRate: types.Float64Value(a.MaxDiffRate)}
	m.ReleaseToggle = optionalString(d.ReleaseToggle)
	m.Status = types.StringValue(d.Status)
	m.ProvenAt = types.StringNull()
	if !d.ProvenAt.IsZero() {
		m.ProvenAt = types.StringValue(d.ProvenAt.UTC().Format(time.RFC3339))
	}
	m.Version = types.Int64Value(d.Version)
	return diags
}

func (r *darkLaunchResource) project(m *darkLaunchModel) string {
	if p := m.Project.ValueString(); p != "" {
		return p
	}
	return r.data.project
}

func (r *darkLaunchResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan darkLaunchModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	spec, _ := plan.spec(ctx)
	project := r.project(&plan)
	d, err := r.data.client.CreateDarkLaunch(ctx, project, spec, client.NewIdempotencyKey())
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("create dark launch %q in project %q", spec.Name, project), err)
		return
	}
	resp.Diagnostics.Append(plan.fill(ctx, d)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *darkLaunchResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state darkLaunchModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	project := r.project(&state)
	d, err := r.data.client.GetDarkLaunch(ctx, project, state.Name.ValueString())
	if isNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("read dark launch %q in project %q", state.Name.ValueString(), project), err)
		return
	}
	resp.Diagnostics.Append(state.fill(ctx, d)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *darkLaunchResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state darkLaunchModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec, _ := plan.spec(ctx)
	project := r.project(&plan)
	d, err := r.data.client.UpdateDarkLaunch(ctx, project, spec, state.Version.ValueInt64())
	if err != nil {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("update dark launch %q in project %q", spec.Name, project), err)
		return
	}
	status, provenAt := plan.Status, plan.ProvenAt
	resp.Diagnostics.Append(plan.fill(ctx, d)...)
	// An update never changes the verdict, but the engine may reach one
	// between plan and apply: return status and proven_at as planned (from
	// state), and let the next refresh record the verdict without a diff.
	if !status.IsUnknown() {
		plan.Status = status
	}
	if !provenAt.IsUnknown() {
		plan.ProvenAt = provenAt
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *darkLaunchResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state darkLaunchModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	project := r.project(&state)
	err := r.data.client.DeleteDarkLaunch(ctx, project, state.Name.ValueString(), state.Version.ValueInt64())
	if err != nil && !isNotFound(err) {
		addError(&resp.Diagnostics, r.data.client, fmt.Sprintf("delete dark launch %q in project %q", state.Name.ValueString(), project), err)
	}
}

// ImportState takes "<name>" (the provider's project) or "<project>/<name>".
func (r *darkLaunchResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importProjectAndName(ctx, r.data.project, "dark launch name", req, resp)
}
