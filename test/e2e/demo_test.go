package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

// TestDemo runs `make demo`'s script as a user would, with freshly built
// binaries: moto and the engine start, OpenTofu applies examples/quickstart,
// a release goes through the three stages to released, and the next one
// rolls back by itself when an alarm fires in stage 2.
func TestDemo(t *testing.T) {
	testenv.TofuPath(t)
	root := testenv.RepoRoot()
	for _, p := range []string{"bin/tofu", "bin/moto_server", ".venv/bin/python"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			testenv.Unavailable(t, p, "run `make tools`")
		}
	}
	bin := build(t)
	cmd := exec.CommandContext(context.Background(), filepath.Join(root, "scripts", "demo.sh"))
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "PROGRESSIVE_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "PROGRESSIVE_DEMO_BIN="+bin, "PROGRESSIVE_DEMO_DIR="+t.TempDir(), "PROGRESSIVE_LISTEN="+freeAddr(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{
		"release of checkout runs canary policy standard: employees 8s →",
		"stage 1/3 employees", "stage 2/3 early-customers", "stage 3/3 fleet",
		"released: green is live",
		`rolled back to green: gate "checkout-5xx" failed: value ALARM, bound OK`,
		"Release Rolled Back",
		"==> demo done",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}
