// Package smoke runs the HTTP smoke test of a slot before it takes traffic.
package smoke

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
)

// Tester runs smoke tests.
type Tester struct {
	Client *http.Client
	// Sleep waits between attempts (time.Sleep when nil); tests shorten it.
	Sleep func(ctx context.Context, d time.Duration)
}

// Run checks url up to cfg.Attempts times and reports whether one attempt
// answered cfg.ExpectedStatus (and contained version when cfg.ExpectVersion).
// The message says what the last failing attempt saw.
func (t Tester) Run(ctx context.Context, url, version string, cfg model.SmokeTest) (bool, string) {
	client := t.Client
	if client == nil {
		client = http.DefaultClient
	}
	attempts := max(cfg.Attempts, 1)
	var last string
	for i := range attempts {
		if i > 0 {
			t.sleep(ctx, time.Duration(cfg.Interval))
		}
		ok, msg := t.once(ctx, client, url, version, cfg)
		if ok {
			return true, fmt.Sprintf("%s answered %d", url, cfg.ExpectedStatus)
		}
		last = msg
		if ctx.Err() != nil {
			break
		}
	}
	return false, fmt.Sprintf("smoke test of %s failed after %d attempts: %s", url, attempts, last)
}

func (t Tester) once(ctx context.Context, client *http.Client, url, version string, cfg model.SmokeTest) (bool, string) {
	timeout := time.Duration(cfg.Timeout)
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != cfg.ExpectedStatus {
		return false, fmt.Sprintf("HTTP %d, expected %d", resp.StatusCode, cfg.ExpectedStatus)
	}
	if cfg.ExpectVersion && !strings.Contains(string(body), version) {
		return false, fmt.Sprintf("the response does not contain the slot's version %q", version)
	}
	return true, ""
}

func (t Tester) sleep(ctx context.Context, d time.Duration) {
	if t.Sleep != nil {
		t.Sleep(ctx, d)
		return
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
