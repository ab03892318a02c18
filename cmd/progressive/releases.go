package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

// errNotReleased makes `progressive wait` exit non-zero when the release
// ended otherwise than released.
var errNotReleased = errors.New("the release did not end released")

// runStatus prints environments with their active slot and release status.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("status", "status [--project P] [--json] [ENVIRONMENT]", stderr)
	project := f.string("project", "PROGRESSIVE_PROJECT", model.DefaultProject, "the project")
	asJSON := f.Bool("json", false, "print JSON")
	connect := clientFlags(f)
	if err := f.parse(args); err != nil {
		return err
	}
	c, err := connect()
	if err != nil {
		return err
	}
	var envs []wire.Environment
	if f.NArg() == 1 {
		e, err := c.GetEnvironment(ctx, *project, f.Arg(0))
		if err != nil {
			return err
		}
		envs = []wire.Environment{e}
	} else if envs, err = c.ListEnvironments(ctx, *project); err != nil {
		return err
	}
	type row struct {
		Environment wire.Environment `json:"environment"`
		Release     *wire.Release    `json:"release,omitempty"`
	}
	rows := make([]row, 0, len(envs))
	for _, e := range envs {
		rel, err := c.GetRelease(ctx, *project, e.Name)
		switch {
		case err == nil:
			rows = append(rows, row{e, &rel})
		case client.IsType(err, "urn:progressive:problem:not-found"):
			rows = append(rows, row{Environment: e})
		default:
			return err
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENVIRONMENT\tACTIVE\tIDLE\tROUTING\tRELEASE\tSTATUS\tPHASE\tTRAFFIC\tMESSAGE")
	for _, r := range rows {
		id, status, phase, weights, msg := "-", string(model.ReleaseStatusIdle), "-", "-", r.Environment.RoutingMessage
		if r.Release != nil && r.Release.Current != nil {
			cur := r.Release.Current
			id, status, phase, msg = cur.ID, string(r.Release.Status), string(cur.Phase), cur.Message
			weights = cur.IntendedWeights.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Environment.Name, r.Environment.ActiveSlot, r.Environment.IdleSlot, r.Environment.Routing, id, status, phase, weights, msg)
	}
	return tw.Flush()
}

// runHistory prints an environment's release events.
func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("history", "history [--project P] [--limit N] [--json] ENVIRONMENT", stderr)
	project := f.string("project", "PROGRESSIVE_PROJECT", model.DefaultProject, "the project")
	limit := f.Int("limit", 50, "how many events (1-1000)")
	asJSON := f.Bool("json", false, "print JSON")
	connect := clientFlags(f)
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() != 1 {
		return errors.New("history takes one argument: the environment's name")
	}
	c, err := connect()
	if err != nil {
		return err
	}
	page, err := c.ListEvents(ctx, client.EventQuery{Project: *project, ObjectKind: model.KindRelease, ObjectName: f.Arg(0), Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(page.Events)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tMESSAGE")
	for _, e := range page.Events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339), e.Actor, e.Action, e.Message)
	}
	return tw.Flush()
}

// runReleaseAction asks the running release to abort, pause, resume or promote.
func runReleaseAction(ctx context.Context, action string, args []string, stdout, stderr io.Writer) error {
	f := newFlags(action, action+" [--project P] ENVIRONMENT", stderr)
	project := f.string("project", "PROGRESSIVE_PROJECT", model.DefaultProject, "the project")
	connect := clientFlags(f)
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() != 1 {
		return fmt.Errorf("%s takes one argument: the environment's name", action)
	}
	c, err := connect()
	if err != nil {
		return err
	}
	if err := c.ReleaseAction(ctx, *project, f.Arg(0), action); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Asked the release of %s to %s; `progressive status %s` shows it.\n", f.Arg(0), action, f.Arg(0))
	return nil
}

// runWait blocks until the environment's release ends; it exits 0 only for released.
func runWait(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("wait", "wait [--project P] [--poll D] ENVIRONMENT", stderr)
	project := f.string("project", "PROGRESSIVE_PROJECT", model.DefaultProject, "the project")
	poll := f.Duration("poll", 2*time.Second, "how often to read the release")
	connect := clientFlags(f)
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() != 1 {
		return errors.New("wait takes one argument: the environment's name")
	}
	c, err := connect()
	if err != nil {
		return err
	}
	last := ""
	for {
		rel, err := c.GetRelease(ctx, *project, f.Arg(0))
		if err != nil {
			return err
		}
		cur := rel.Current
		switch {
		case !rel.Applied:
			// The leader has not picked up the latest change yet.
		case cur == nil:
			return fmt.Errorf("environment %q has no release: its slot %s is already active", f.Arg(0), rel.Slot)
		}
		if cur == nil || !rel.Applied {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(*poll):
			}
			continue
		}
		if line := string(cur.Phase) + ": " + cur.Message; line != last {
			fmt.Fprintf(stderr, "%s %s %s\n", time.Now().Format(time.TimeOnly), cur.ID, line)
			last = line
		}
		if cur.Phase.Terminal() && rel.Applied {
			fmt.Fprintf(stdout, "%s %s\n", cur.ID, cur.Status())
			if cur.Phase != model.PhaseReleased {
				return fmt.Errorf("release %s %s: %s: %w", cur.ID, cur.Phase, cur.Reason, errNotReleased)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(*poll):
		}
	}
}
