package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
)

func runEvents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("events", "events [flags]", stderr)
	var q client.EventQuery
	f.StringVar(&q.Project, "project", "", "only this project's events")
	f.StringVar(&q.ObjectKind, "object-kind", "", "only objects of this kind (project, token, …)")
	f.StringVar(&q.ObjectName, "object", "", "only the object with this name")
	f.StringVar(&q.Actor, "actor", "", "only changes made by this token name")
	since := f.String("since", "", "only events at or after this RFC 3339 time, or this long ago (e.g. 24h)")
	until := f.String("until", "", "only events before this RFC 3339 time")
	f.IntVar(&q.Limit, "limit", 50, "how many events (1-1000)")
	f.StringVar(&q.Cursor, "cursor", "", "continue from a previous page's cursor")
	asJSON := f.Bool("json", false, "print JSON")
	connect := clientFlags(f)
	if err := f.parse(args); err != nil {
		return err
	}
	if q.Limit < 1 || q.Limit > 1000 {
		return fmt.Errorf("--limit %d is out of range: use 1 to 1000", q.Limit)
	}
	var err error
	if q.Since, err = parseWhen(*since); err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	if q.Until, err = parseWhen(*until); err != nil {
		return fmt.Errorf("--until: %w", err)
	}
	c, err := connect()
	if err != nil {
		return err
	}
	page, err := c.ListEvents(ctx, q)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(page)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tACTOR\tACTION\tPROJECT\tOBJECT\tMESSAGE")
	for _, e := range page.Events {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s/%s\t%s\n", e.ID, e.Time.Format(time.RFC3339), e.Actor, e.Action, e.Project, e.ObjectKind, e.ObjectName, e.Message)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.NextCursor != "" {
		fmt.Fprintf(stderr, "More events: --cursor %s\n", page.NextCursor)
	}
	return nil
}

func parseWhen(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, fmt.Errorf("%q is neither an RFC 3339 time (2026-11-26T09:00:00Z) nor a duration (24h)", v)
	}
	return t, nil
}
