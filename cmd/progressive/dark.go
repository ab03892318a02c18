package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/darklaunch"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

// darkSynopses are the dark subcommands and their usage lines.
var darkSynopses = map[string]string{
	"list":   "dark list [--project P] [--json]",
	"status": "dark status [--project P] [--json] NAME",
	"diff":   "dark diff [--project P] [--limit N] [--json] NAME",
	"pause":  "dark pause [--project P] [--json] NAME",
	"resume": "dark resume [--project P] [--json] NAME",
	"reset":  "dark reset [--project P] [--json] NAME",
}

// runDark reads and steers dark launches: their figures, their sample
// diffs, pause, resume and reset.
func runDark(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, "Usage: progressive dark list|status|diff|pause|resume|reset [flags] [NAME]\n")
		return errUsage
	}
	sub := args[0]
	synopsis, ok := darkSynopses[sub]
	if !ok {
		return fmt.Errorf("unknown dark command %q: use list, status, diff, pause, resume or reset", sub)
	}
	f := newFlags("dark "+sub, synopsis, stderr)
	project := f.string("project", "PROGRESSIVE_PROJECT", model.DefaultProject, "the project")
	asJSON := f.Bool("json", false, "print JSON")
	var limit *int
	if sub == "diff" {
		limit = f.Int("limit", 20, "how many sample diffs, newest first (0: all the engine keeps, up to 100)")
	}
	connect := clientFlags(f)
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	switch {
	case sub == "list" && f.NArg() != 0:
		return fmt.Errorf("dark list takes no arguments, got %q", f.Args())
	case sub != "list" && f.NArg() != 1:
		return fmt.Errorf("dark %s takes one argument: the dark launch's name", sub)
	case limit != nil && *limit < 0:
		return fmt.Errorf("--limit %d cannot be negative", *limit)
	}
	c, err := connect()
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		return darkList(ctx, c, *project, *asJSON, stdout)
	case "status":
		return darkStatus(ctx, c, *project, f.Arg(0), *asJSON, stdout)
	case "diff":
		return darkDiff(ctx, c, *project, f.Arg(0), *limit, *asJSON, stdout, stderr)
	}
	return darkAction(ctx, c, *project, f.Arg(0), sub, *asJSON, stdout)
}

// darkRow is a dark launch with its live figures.
type darkRow struct {
	DarkLaunch wire.DarkLaunch       `json:"dark_launch"`
	Status     wire.DarkLaunchStatus `json:"status"`
}

func darkList(ctx context.Context, c *client.Client, project string, asJSON bool, stdout io.Writer) error {
	launches, err := c.ListDarkLaunches(ctx, project)
	if err != nil {
		return err
	}
	rows := make([]darkRow, 0, len(launches))
	for _, d := range launches {
		st, err := c.DarkLaunchStatus(ctx, project, d.Name)
		if err != nil {
			return err
		}
		rows = append(rows, darkRow{d, st})
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(rows)
	}
	return renderDarkList(stdout, rows)
}

func renderDarkList(w io.Writer, rows []darkRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATUS\tMIRROR\tTOGGLE\tREQUESTS\tERROR RATE\tDIFF RATE\tMESSAGE")
	for _, r := range rows {
		toggle := "-"
		if r.Status.ReleaseToggle != "" {
			toggle = r.Status.ReleaseToggle
			if r.Status.Held {
				toggle += " (held)"
			}
		}
		fig := r.Status.Figures
		fmt.Fprintf(tw, "%s\t%s\t%s %%\t%s\t%s of %s\t%s\t%s\t%s\n", r.DarkLaunch.Name, r.Status.Status, formatPercent(r.DarkLaunch.MirrorPercent),
			toggle, grouped(fig.Requests), grouped(r.Status.MinRequests), rate(fig.ErrorRate), rate(fig.DiffRate), r.Status.Message)
	}
	return tw.Flush()
}

func darkStatus(ctx context.Context, c *client.Client, project, name string, asJSON bool, stdout io.Writer) error {
	st, err := c.DarkLaunchStatus(ctx, project, name)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(st)
	}
	d, err := c.GetDarkLaunch(ctx, project, name)
	if err != nil {
		return err
	}
	renderDarkStatus(stdout, d, st, time.Now())
	return nil
}

// renderDarkStatus prints a dark launch's figures against its acceptance
// bounds, its release toggle and the proxies that report to it.
func renderDarkStatus(w io.Writer, d wire.DarkLaunch, st wire.DarkLaunchStatus, now time.Time) {
	fig, acc := st.Figures, d.Acceptance
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "  %-17s %s\n", label, fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(w, "dark launch %s/%s: %s\n", st.Project, st.Name, st.Status)
	if st.Message != "" {
		fmt.Fprintf(w, "  %s\n", st.Message)
	}
	line("mirroring", "%s %% of %s, from %s to %s", formatPercent(d.MirrorPercent), methodList(d.Methods), d.LiveURL, d.DarkURL)
	synthetic := ""
	if fig.Synthetic > 0 {
		synthetic = fmt.Sprintf(" (%s synthetic)", grouped(fig.Synthetic))
	}
	line("requests", "%s of %s%s", grouped(fig.Requests), grouped(st.MinRequests), synthetic)
	line("error rate", "%s (%s errors; max %s)", rate(fig.ErrorRate), grouped(fig.Errors), rate(acc.MaxErrorRate))
	if fig.Requests == 0 {
		line("latency", "- (nothing has reached the dark backend yet)")
	} else {
		bound := "no max"
		if acc.MaxP99Latency > 0 {
			bound = "max " + time.Duration(acc.MaxP99Latency).String()
		}
		line("latency", "p50 %s, p99 %s (%s)", latency(fig.P50Latency), latency(fig.P99Latency), bound)
	}
	if d.Compare.IsEnabled() {
		line("diff rate", "%s (%s of %s compared; max %s)", rate(fig.DiffRate), grouped(fig.Diffs), grouped(fig.Compared), rate(acc.MaxDiffRate))
	} else {
		line("diff rate", "- (comparison is off)")
	}
	line("dropped", "%s (copies not sent: a proxy's queue was full)", grouped(fig.Dropped))
	line("skipped", "%s (request bodies too large to mirror)", grouped(fig.Skipped))
	switch {
	case st.ReleaseToggle == "":
		line("release toggle", "none")
	case st.Held:
		line("release toggle", "%s, held off until this dark launch is proven", st.ReleaseToggle)
	default:
		line("release toggle", "%s, not held", st.ReleaseToggle)
	}
	if st.Preview != "" {
		line("alb preview", "%s %s", st.Preview, st.PreviewMessage)
	}
	for _, t := range []struct {
		label string
		at    time.Time
	}{{"collecting since", st.CollectingSince}, {"proven at", st.ProvenAt}, {"failed at", st.FailedAt}} {
		if !t.at.IsZero() {
			line(t.label, "%s", t.at.Format(time.RFC3339))
		}
	}
	if len(st.Proxies) == 0 {
		line("proxies", "none has reported; run `progressive shadow --dark-launch %s` in front of %s", st.Name, d.LiveURL)
		return
	}
	line("proxies", "%d", len(st.Proxies))
	instances := make([]string, 0, len(st.Proxies))
	for id := range st.Proxies {
		instances = append(instances, id)
	}
	slices.Sort(instances)
	for _, id := range instances {
		p := st.Proxies[id]
		fmt.Fprintf(w, "    %s  last report %s ago", id, now.Sub(p.LastReport).Round(time.Second))
		if p.Revision != "" {
			fmt.Fprintf(w, ", config revision %s", p.Revision)
		}
		if p.ConfigError != "" {
			fmt.Fprintf(w, ", refusing its config: %s", p.ConfigError)
		}
		fmt.Fprintln(w)
	}
}

func darkDiff(ctx context.Context, c *client.Client, project, name string, limit int, asJSON bool, stdout, stderr io.Writer) error {
	out, err := c.DarkLaunchDiffs(ctx, project, name)
	if err != nil {
		return err
	}
	samples := newestFirst(out.Diffs)
	total := len(samples)
	if limit > 0 && total > limit {
		samples = samples[:limit]
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(wire.DarkLaunchDiffs{Diffs: samples})
	}
	if total == 0 {
		fmt.Fprintf(stdout, "No sample diffs for dark launch %s (the engine keeps them %d days; a reset discards them).\n", name, model.DarkLaunchDiffRetention/(24*time.Hour))
		return nil
	}
	renderDiffs(stdout, samples)
	if len(samples) < total {
		fmt.Fprintf(stderr, "Showing the newest %d of %d sample diffs; --limit 0 shows all.\n", len(samples), total)
	}
	return nil
}

// newestFirst returns the samples, newest first.
func newestFirst(samples []darklaunch.Sample) []darklaunch.Sample {
	out := slices.Clone(samples)
	slices.Reverse(out) // the engine keeps them newest last
	slices.SortStableFunc(out, func(a, b darklaunch.Sample) int { return b.Time.Compare(a.Time) })
	return out
}

// renderDiffs prints each sample diff: the request, then each field that
// differed, live against dark.
func renderDiffs(w io.Writer, samples []darklaunch.Sample) {
	for i, s := range samples {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s %s  %s  (proxy %s)\n", s.Method, printable(s.Path), s.Time.Format(time.RFC3339), s.Instance)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  FIELD\tLIVE\tDARK")
		for _, fd := range s.Fields {
			field := fd.Kind
			if fd.Name != "" {
				field += " " + fd.Name
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", printable(field), printable(fd.Live), printable(fd.Dark))
		}
		_ = tw.Flush()
		if s.Truncated {
			fmt.Fprintln(w, "  (more fields differed than the sample keeps)")
		}
	}
}

func darkAction(ctx context.Context, c *client.Client, project, name, action string, asJSON bool, stdout io.Writer) error {
	before, err := c.GetDarkLaunch(ctx, project, name)
	if err != nil {
		return err
	}
	if err := c.DarkLaunchAction(ctx, project, name, action); err != nil {
		return err
	}
	after, err := c.GetDarkLaunch(ctx, project, name)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(after)
	}
	fmt.Fprintln(stdout, darkActionOutcome(action, before, after))
	return nil
}

// darkActionOutcome says what an action did, from the dark launch before
// and after it.
func darkActionOutcome(action string, before, after wire.DarkLaunch) string {
	name := after.Name
	switch action {
	case "pause":
		if before.Status == model.DarkPaused {
			return fmt.Sprintf("Dark launch %s was already paused: %s", name, after.Message)
		}
		return fmt.Sprintf("Paused dark launch %s: proxies stop mirroring at their next config poll (every second by default), and synthetic load stops at once. `progressive dark resume %s` restarts them.", name, name)
	case "resume":
		if before.Status != model.DarkPaused {
			hint := ""
			if after.Status == model.DarkFailed {
				hint = fmt.Sprintf("; after a fix, `progressive dark reset %s` starts collecting afresh", name)
			}
			return fmt.Sprintf("Dark launch %s is not paused (it is %s): nothing to resume%s.", name, after.Status, hint)
		}
		return fmt.Sprintf("Resumed dark launch %s: it is %s again, and proxies mirror from their next config poll.", name, after.Status)
	}
	return fmt.Sprintf("Reset dark launch %s: collecting afresh from 0 requests (the figures and sample diffs so far are discarded); it is %s.", name, after.Status)
}

// rate formats a share as a percentage: 0.0041 is "0.41 %".
func rate(r float64) string { return strconv.FormatFloat(r*100, 'f', 2, 64) + " %" }

// formatPercent formats a percentage with up to 3 decimals and no
// trailing zeros: 12.5, 100.
func formatPercent(p float64) string { return strconv.FormatFloat(p, 'f', -1, 64) }

// latency rounds a dark latency for people: 1.2ms, 850µs, 2.3s.
func latency(d model.Duration) string {
	v := time.Duration(d)
	if v >= time.Millisecond {
		return v.Round(100 * time.Microsecond).String()
	}
	return v.Round(time.Microsecond).String()
}

// grouped formats a count with thousands separators: 10,000.
func grouped(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// printable quotes a value that is empty or would break the table (control
// characters such as newlines and tabs).
func printable(s string) string {
	if s == "" || strings.ContainsFunc(s, unicode.IsControl) {
		return strconv.Quote(s)
	}
	return s
}
