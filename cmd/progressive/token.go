package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/version"
)

// clientFlags adds --endpoint and --token.
func clientFlags(f *flags) func() (*client.Client, error) {
	endpoint := f.string("endpoint", "PROGRESSIVE_ENDPOINT", client.DefaultEndpoint, "engine URL")
	token := f.string("token", "PROGRESSIVE_TOKEN", "", "bearer token")
	return func() (*client.Client, error) {
		if *token == "" {
			return nil, errors.New("no token: set PROGRESSIVE_TOKEN or --token (an admin token: the one printed on the engine's first start)")
		}
		return client.New(*endpoint, *token, client.WithUserAgent("progressive-cli/"+version.Version))
	}
}

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, "Usage: progressive token create|list|revoke [flags]\n")
		return errUsage
	}
	switch args[0] {
	case "create":
		f := newFlags("token create", "token create --kind admin|write|sdk|shadow --name NAME [flags]", stderr)
		kind := f.String("kind", "", "admin (everything), write (management API, for Terraform), sdk (flag evaluation only) or shadow (progressive shadow: the config and stats of the dark launches it names)")
		name := f.String("name", "", "a name for the token, shown in the audit log (lower-case letters, digits, hyphens)")
		project := f.String("project", "", "sdk tokens: the project whose flags they evaluate; shadow tokens: the project of their dark launches (default: default)")
		var darkLaunches stringList
		f.Var(&darkLaunches, "dark-launch", "shadow tokens: a dark launch the token serves (repeat for several)")
		allOn := f.Bool("all-on", false, "sdk tokens: every evaluation returns each toggle's on_variant, for acceptance tests of the new code paths")
		asJSON := f.Bool("json", false, "print the token and its metadata as JSON")
		connect := clientFlags(f)
		if err := f.parse(args[1:]); err != nil {
			return err
		}
		spec := model.TokenSpec{Name: *name, Kind: model.TokenKind(*kind), Project: *project, AllOn: *allOn, DarkLaunches: darkLaunches}
		if err := spec.Validate(); err != nil {
			return err
		}
		c, err := connect()
		if err != nil {
			return err
		}
		out, err := c.CreateToken(ctx, spec, client.NewIdempotencyKey())
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(out)
		}
		fmt.Fprintf(stderr, "Created %s token %q (%s). The secret below is shown only once:\n", out.Token.Kind, out.Token.Name, out.Token.ID)
		fmt.Fprintln(stdout, out.Secret)
		return nil
	case "list":
		f := newFlags("token list", "token list [flags]", stderr)
		all := f.Bool("all", false, "include revoked tokens")
		asJSON := f.Bool("json", false, "print JSON")
		connect := clientFlags(f)
		if err := f.parse(args[1:]); err != nil {
			return err
		}
		c, err := connect()
		if err != nil {
			return err
		}
		tokens, err := c.ListTokens(ctx)
		if err != nil {
			return err
		}
		shown := tokens[:0]
		for _, t := range tokens {
			if *all || t.RevokedAt == nil {
				shown = append(shown, t)
			}
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(shown)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tKIND\tHINT\tCREATED\tCREATED BY\tREVOKED")
		for _, t := range shown {
			revoked := "-"
			if t.RevokedAt != nil {
				revoked = t.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Kind, t.Hint, t.CreatedAt.Format(time.RFC3339), t.CreatedBy, revoked)
		}
		return tw.Flush()
	case "revoke":
		f := newFlags("token revoke", "token revoke [flags] ID|NAME", stderr)
		connect := clientFlags(f)
		if err := f.parse(args[1:]); err != nil {
			return err
		}
		if f.NArg() != 1 {
			return errors.New("token revoke takes one argument: the token's ID (tok_…) or name")
		}
		c, err := connect()
		if err != nil {
			return err
		}
		id := f.Arg(0)
		tokens, err := c.ListTokens(ctx)
		if err != nil {
			return err
		}
		found := false
		for _, t := range tokens {
			if t.RevokedAt == nil && (t.ID == id || t.Name == id) {
				id, found = t.ID, true
				break
			}
		}
		if !found {
			return fmt.Errorf("no active token has the ID or name %q; `progressive token list` shows them", f.Arg(0))
		}
		t, err := c.RevokeToken(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Revoked %s token %q (%s).\n", t.Kind, t.Name, t.ID)
		return nil
	}
	return fmt.Errorf("unknown token command %q: use create, list or revoke", args[0])
}

func runVersion(stdout io.Writer) error {
	fmt.Fprintln(stdout, "progressive", version.Version)
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}
