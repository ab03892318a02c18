package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

// The release commands against a running engine over moto: status, wait,
// history, abort.
func TestReleaseCommands(t *testing.T) {
	cleanEnv(t)
	testenv.Moto(t)
	t.Setenv("PROGRESSIVE_DATA_DIR", t.TempDir())
	lb := testenv.NewALB(t)
	lb.RegisterTarget(t, lb.BlueTG, "10.0.1.10")
	lb.RegisterTarget(t, lb.GreenTG, "10.0.1.20")
	d := startServe(t, "--controller-interval", "100ms")
	admin := d.secret()
	c := d.client(admin)
	ctx := context.Background()
	spec := model.EnvironmentSpec{Name: "checkout",
		Blue:          model.Slot{Version: "v1", TargetGroupARN: lb.BlueTG},
		Green:         model.Slot{Version: "v2", TargetGroupARN: lb.GreenTG},
		ALB:           &model.ALB{ListenerARN: lb.ListenerARN, RulePriority: 100},
		CheckInterval: model.Duration(time.Second),
	}
	if _, err := c.CreateEnvironment(ctx, "default", spec, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	cli := func(command string, args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append([]string{command, "--endpoint", d.endpoint, "--token", admin}, args...), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	// Abort with nothing running is a clear error.
	if _, _, err := cli("abort", "checkout"); err == nil || !strings.Contains(err.Error(), "release of environment \"checkout\" in project \"default\" does not exist") {
		t.Fatalf("abort with nothing running: %v", err)
	}

	// Release green and wait for it.
	if _, err := c.CreateRelease(ctx, "default", model.ReleaseSpec{Environment: "checkout", Slot: "green", Trigger: "v2"}, client.NewIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	out, progress, err := cli("wait", "--poll", "100ms", "checkout")
	if err != nil || !strings.Contains(out, "released") || !strings.Contains(progress, "rel_") {
		t.Fatalf("wait: %v\nstdout: %s\nstderr: %s", err, out, progress)
	}
	out, _, err = cli("status")
	if err != nil || !strings.Contains(out, "checkout") || !strings.Contains(out, "green") || !strings.Contains(out, "released") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	out, _, err = cli("history", "checkout")
	if err != nil || !strings.Contains(out, "started") || !strings.Contains(out, "shifting") {
		t.Fatalf("history: %v\n%s", err, out)
	}

	// A long bake, aborted: wait reports it did not end released.
	spec.BakeTime = model.Duration(time.Hour)
	if _, err := c.UpdateEnvironment(ctx, "default", spec, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateRelease(ctx, "default", model.ReleaseSpec{Environment: "checkout", Slot: "blue", Trigger: "v3"}, 0); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		rel, err := c.GetRelease(ctx, "default", "checkout")
		if err == nil && rel.Current != nil && rel.Current.Trigger == "v3" && rel.Current.Phase == model.PhaseBaking {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("release did not start baking: %+v %v", rel, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out, _, err := cli("abort", "checkout"); err != nil || !strings.Contains(out, "abort") {
		t.Fatalf("abort: %v %s", err, out)
	}
	_, _, err = cli("wait", "--poll", "100ms", "checkout")
	if !errors.Is(err, errNotReleased) || !strings.Contains(err.Error(), "aborted by bootstrap") {
		t.Fatalf("wait after an abort: %v", err)
	}
	if w := lb.Weights(t, "100"); w[lb.GreenTG] != 100 {
		t.Fatalf("the abort did not restore green: %v", w)
	}
}
