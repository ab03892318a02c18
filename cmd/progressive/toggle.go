package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

func runToggle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, "Usage: progressive toggle list|status [flags]\n")
		return errUsage
	}
	switch args[0] {
	case "list":
		f := newFlags("toggle list", "toggle list [--project P] [--json]", stderr)
		project := f.string("project", "PROGRESSIVE_PROJECT", model.DefaultProject, "the project")
		asJSON := f.Bool("json", false, "print JSON")
		connect := clientFlags(f)
		if err := f.parse(args[1:]); err != nil {
			return err
		}
		c, err := connect()
		if err != nil {
			return err
		}
		toggles, err := c.ListToggles(ctx, *project)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(toggles)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tKIND\tENABLED\tDEFAULT\tRULES\tROLLOUT\tVERSION\tUPDATED")
		for _, t := range toggles {
			rollout := "-"
			if t.Rollout != nil {
				rollout = fmt.Sprint(t.Rollout.Weights)
			}
			fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%d\t%s\t%d\t%s\n", t.Key, t.Kind, t.IsEnabled(), t.DefaultVariant, len(t.Rules), rollout, t.Version, t.UpdatedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	case "status":
		f := newFlags("toggle status", "toggle status [--project P] [--json] KEY", stderr)
		project := f.string("project", "PROGRESSIVE_PROJECT", model.DefaultProject, "the project")
		asJSON := f.Bool("json", false, "print JSON")
		connect := clientFlags(f)
		if err := f.parse(args[1:]); err != nil {
			return err
		}
		if f.NArg() != 1 {
			return errors.New("toggle status takes one argument: the toggle's key")
		}
		c, err := connect()
		if err != nil {
			return err
		}
		st, err := c.ToggleStatus(ctx, *project, f.Arg(0))
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(st)
		}
		fmt.Fprintf(stdout, "toggle %s/%s (version %d)\n", st.Project, st.Key, st.Version)
		fmt.Fprintf(stdout, "  enabled:           %t\n", st.Enabled)
		fmt.Fprintf(stdout, "  effective_enabled: %t\n", st.EffectiveEnabled)
		if st.Hold != nil {
			fmt.Fprintf(stdout, "  held off by %s %q since %s\n", st.Hold.Kind, st.Hold.Name, st.Hold.Since.Format(time.RFC3339))
		}
		return nil
	}
	return fmt.Errorf("unknown toggle command %q: use list or status", args[0])
}
