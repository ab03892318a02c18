package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/wire"
)

// runWatch shows a release's progress live: stage n/m, weights, the bake
// countdown as a progress bar, and each gate's state and last value. On a
// terminal it redraws in place; otherwise it prints a frame whenever it
// changes. It returns when the release ends (exit status 0 only for
// released), or after one frame with --once.
func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("watch", "watch [--project P] [--poll D] [--once] ENVIRONMENT", stderr)
	project := f.string("project", "PROGRESSIVE_PROJECT", model.DefaultProject, "the project")
	poll := f.Duration("poll", time.Second, "how often to read the release")
	once := f.Bool("once", false, "print one frame and exit")
	connect := clientFlags(f)
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() != 1 {
		return errors.New("watch takes one argument: the environment's name")
	}
	c, err := connect()
	if err != nil {
		return err
	}
	env := f.Arg(0)
	tty := isTerminal(stdout)
	last := ""
	for {
		rel, err := c.GetRelease(ctx, *project, env)
		if err != nil {
			return err
		}
		var live *wire.Traffic
		if t, err := c.Traffic(ctx, *project, env); err == nil {
			live = &t
		}
		var frame string
		if tty {
			frame = renderWatch(env, rel, live, time.Now())
		} else {
			frame = watchLine(rel)
		}
		if frame != last {
			if tty {
				fmt.Fprint(stdout, "\x1b[H\x1b[2J")
			}
			fmt.Fprint(stdout, frame)
			last = frame
		}
		cur := rel.Current
		if *once {
			return nil
		}
		if cur != nil && rel.Applied && cur.Phase.Terminal() {
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

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// watchLine is the output when stdout is not a terminal (a log, CI): one
// line whenever the stage, phase, weights or a gate's state changes, not on
// every second of bake.
func watchLine(rel wire.Release) string {
	cur := rel.Current
	if cur == nil {
		return fmt.Sprintf("no release yet; customers get the %s slot\n", rel.Slot)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", cur.ID, cur.Phase)
	if stages := cur.Stages(); len(stages) > 0 {
		i := min(max(cur.StageIndex, 0), len(stages)-1)
		fmt.Fprintf(&b, " stage %d/%d %s", i+1, len(stages), stages[i].Name)
	}
	fmt.Fprintf(&b, " at %s", cur.IntendedWeights)
	for _, g := range cur.Gates {
		if g.State != model.GateOK {
			fmt.Fprintf(&b, "; %s %s %s (%s)", g.Kind, g.Name, gateMark(g.State), g.Value)
		}
	}
	if cur.AwaitingApproval {
		fmt.Fprintf(&b, "; waiting for approval: progressive promote %s", cur.Environment)
	}
	if cur.Phase.Terminal() {
		fmt.Fprintf(&b, ": %s", cur.Message)
	}
	return b.String() + "\n"
}

// renderWatch draws one frame of `progressive watch`.
func renderWatch(env string, rel wire.Release, live *wire.Traffic, now time.Time) string {
	var b strings.Builder
	cur := rel.Current
	if cur == nil {
		fmt.Fprintf(&b, "%s: no release yet; customers get the %s slot\n", env, rel.Slot)
		return b.String()
	}
	fmt.Fprintf(&b, "%s  release %s  %s → %s  %s\n", env, cur.ID, cur.FromSlot, cur.TargetSlot, strings.ToUpper(string(cur.Status())))
	stages := cur.Stages()
	if p := cur.Policy; p != nil {
		fmt.Fprintf(&b, "canary policy %s (version %d, pinned when the release started)\n", p.Name, p.Version)
	}
	intended := cur.IntendedWeights.String()
	aws := "unknown"
	if live != nil {
		aws = fmt.Sprintf("blue %d%% / green %d%%", live.Blue, live.Green)
	}
	fmt.Fprintf(&b, "weights   intended %s   AWS %s\n", intended, aws)
	if len(stages) > 0 {
		i := min(max(cur.StageIndex, 0), len(stages)-1)
		st := stages[i]
		fmt.Fprintf(&b, "stage     %d/%d %s (%d%%", i+1, len(stages), st.Name, st.TrafficPercent)
		if st.Audience != nil {
			fmt.Fprintf(&b, " + audience")
		}
		if st.Manual() {
			fmt.Fprintf(&b, ", manual approval")
		}
		fmt.Fprintf(&b, ")\n")
		if !cur.Phase.Terminal() {
			fmt.Fprintf(&b, "bake      %s\n", bakeBar(time.Duration(cur.Baked), time.Duration(st.BakeTime), 30))
		}
	}
	fmt.Fprintf(&b, "phase     %s: %s\n", cur.Phase, cur.Message)
	if cur.AwaitingApproval {
		fmt.Fprintf(&b, "          waiting for approval: progressive promote %s\n", env)
	}
	if len(cur.Gates) > 0 {
		age := ""
		if !cur.GatesReadAt.IsZero() {
			age = fmt.Sprintf(" (read %s ago)", now.Sub(cur.GatesReadAt).Round(time.Second))
		}
		fmt.Fprintf(&b, "gates%s\n", age)
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, g := range cur.Gates {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", g.Kind, g.Name, gateMark(g.State), g.Value, g.Bound)
		}
		_ = tw.Flush()
	}
	if cur.Reason != "" && cur.Phase.Terminal() {
		fmt.Fprintf(&b, "reason    %s\n", cur.Reason)
	}
	return b.String()
}

func gateMark(state string) string {
	switch state {
	case model.GateOK:
		return "ok"
	case model.GateFailing:
		return "FAILING"
	case model.GateInsufficient:
		return "no data"
	case model.GateError:
		return "ERROR"
	}
	return state
}

// bakeBar draws the bake countdown: [██████░░░░] 6m of 10m (4m left).
func bakeBar(baked, total time.Duration, width int) string {
	frac := 1.0
	if total > 0 {
		frac = min(float64(baked)/float64(total), 1)
	}
	n := int(frac * float64(width))
	left := max(total-baked, 0)
	return fmt.Sprintf("[%s%s] %s of %s (%s left)", strings.Repeat("█", n), strings.Repeat("░", width-n),
		baked.Round(time.Second), total, left.Round(time.Second))
}
