// Command progressive is the Progressive engine daemon (`progressive serve`)
// and its operator CLI.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "progressive:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

const usage = `Progressive: decouple deployment from release.

Usage:
  progressive serve [flags]                         run the engine
  progressive token create --kind KIND --name NAME  create a token (admin); sdk tokens take --project, --all-on; shadow tokens --project, --dark-launch
  progressive token list                            list tokens (admin)
  progressive token revoke ID|NAME                  revoke a token (admin)
  progressive toggle list [--project P]             list feature toggles
  progressive toggle status [--project P] KEY       what a toggle serves right now
  progressive status [--project P] [ENV]            environments, active slots and releases
  progressive history [--project P] ENV             an environment's release history
  progressive abort|pause|resume|promote ENV        steer the running release (promote: skip the bake, approve a manual stage)
  progressive watch [--project P] ENV               live progress: stage, weights, bake countdown, gates
  progressive wait [--project P] ENV                wait for the release to end (exit 0 only if released)
  progressive dark list [--project P]               list dark launches with their progress
  progressive dark status [--project P] NAME        a dark launch's figures against its acceptance bounds
  progressive dark diff [--project P] NAME          sample diffs, newest first: live against dark, field by field
  progressive dark pause|resume|reset NAME          stop or restart mirroring; reset starts collecting afresh
  progressive shadow --dark-launch NAME [flags]     run the mirroring proxy in front of a live service (a shadow token)
  progressive events [flags]                        read the audit log
  progressive version                               print the version

Run 'progressive COMMAND -h' for a command's flags.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "token":
		return runToken(ctx, args[1:], stdout, stderr)
	case "toggle":
		return runToggle(ctx, args[1:], stdout, stderr)
	case "status":
		return runStatus(ctx, args[1:], stdout, stderr)
	case "history":
		return runHistory(ctx, args[1:], stdout, stderr)
	case "abort", "pause", "resume", "promote":
		return runReleaseAction(ctx, args[0], args[1:], stdout, stderr)
	case "wait":
		return runWait(ctx, args[1:], stdout, stderr)
	case "watch":
		return runWatch(ctx, args[1:], stdout, stderr)
	case "dark":
		return runDark(ctx, args[1:], stdout, stderr)
	case "shadow":
		return runShadow(ctx, args[1:], stdout, stderr)
	case "events":
		return runEvents(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		return runVersion(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "progressive: unknown command %q\n\n%s", args[0], usage)
	return errUsage
}
