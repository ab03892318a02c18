// Package e2e runs the built binaries as a user would: `progressive serve`
// as a process, the CLI, and OpenTofu applying examples/quickstart.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/client"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// build compiles the engine and the provider into one directory, which also
// serves as the dev_overrides directory.
func build(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	root := testenv.RepoRoot()
	for out, pkg := range map[string]string{"progressive": "./cmd/progressive", "terraform-provider-progressive": "."} {
		cmd := exec.CommandContext(context.Background(), "go", "build", "-o", filepath.Join(dir, out), pkg)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return dir
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type engineProc struct {
	cmd    *exec.Cmd
	stdout *bytes.Buffer
	stderr *syncBuffer
	done   chan error
}

// start runs `progressive serve` with no flags: only the environment.
func start(t *testing.T, bin string, env []string) *engineProc {
	t.Helper()
	p := &engineProc{stdout: &bytes.Buffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.CommandContext(context.Background(), filepath.Join(bin, "progressive"), "serve")
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
	})
	return p
}

func (p *engineProc) waitReady(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+addr+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("the engine exited early: %v\n%s", err, p.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("the engine was not ready within 60s:\n%s", p.stderr.String())
}

func (p *engineProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("the engine exited with %v after SIGTERM:\n%s", err, p.stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the engine did not stop within 60s of SIGTERM")
	}
}

var tokenLine = regexp.MustCompile(`(?m)^\s+(prog_[A-Za-z0-9_-]{43})$`)

// The README's quick start, end to end: the engine starts with no flags on
// its embedded store and prints an admin token once; the CLI makes a write
// token; OpenTofu applies examples/quickstart; SIGTERM lets an in-flight
// request finish; a restart keeps every bit of data and prints no new token.
func TestQuickstart(t *testing.T) {
	tofu := testenv.TofuPath(t)
	bin := build(t)
	addr := freeAddr(t)
	dataHome := t.TempDir()
	env := []string{"XDG_DATA_HOME=" + dataHome, "PROGRESSIVE_LISTEN=" + addr, "PROGRESSIVE_LOG_LEVEL=debug"}
	for _, unset := range []string{"PROGRESSIVE_DATA_DIR", "PROGRESSIVE_DATABASE_URL", "PROGRESSIVE_BOOTSTRAP_TOKEN"} {
		env = append(env, unset+"=")
	}
	endpoint := "http://" + addr

	eng := start(t, bin, env)
	eng.waitReady(t, addr)
	m := tokenLine.FindAllStringSubmatch(eng.stdout.String(), -1)
	if len(m) < 1 {
		t.Fatalf("no admin token printed on first start:\n%s", eng.stdout.String())
	}
	admin := m[0][1]
	if _, err := os.Stat(filepath.Join(dataHome, "progressive", "progressive.db")); err != nil {
		t.Fatalf("the SQLite file is not in the default data directory: %v", err)
	}

	cli := exec.CommandContext(context.Background(), filepath.Join(bin, "progressive"), "token", "create", "--kind", "write", "--name", "terraform")
	cli.Env = append(os.Environ(), "PROGRESSIVE_ENDPOINT="+endpoint, "PROGRESSIVE_TOKEN="+admin)
	out, err := cli.Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	write := strings.TrimSpace(string(out))

	work := t.TempDir()
	example, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "examples", "quickstart", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "main.tf"), example, 0o600); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(work, "tofurc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf(`provider_installation {
  dev_overrides {
    "registry.opentofu.org/progressive-delivery/progressive" = %q
  }
  direct {}
}
`, bin)), 0o600); err != nil {
		t.Fatal(err)
	}
	tf := func(args ...string) string {
		cmd := exec.CommandContext(context.Background(), tofu, args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "PROGRESSIVE_ENDPOINT="+endpoint, "PROGRESSIVE_TOKEN="+write, "TF_IN_AUTOMATION=1")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tofu %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return string(b)
	}
	tf("apply", "-auto-approve", "-input=false", "-no-color")
	var outputs struct {
		Engine struct {
			Value struct {
				Backend   string `json:"backend"`
				Healthy   bool   `json:"healthy"`
				TokenName string `json:"token_name"`
			} `json:"value"`
		} `json:"engine"`
		Project struct {
			Value struct {
				Name    string `json:"name"`
				Version int64  `json:"version"`
			} `json:"value"`
		} `json:"project"`
	}
	raw := tf("output", "-json")
	if err := json.Unmarshal([]byte(raw[strings.Index(raw, "{"):]), &outputs); err != nil {
		t.Fatalf("tofu output: %v\n%s", err, raw)
	}
	if outputs.Engine.Value.Backend != "sqlite" || !outputs.Engine.Value.Healthy || outputs.Engine.Value.TokenName != "terraform" ||
		outputs.Project.Value.Name != "checkout" || outputs.Project.Value.Version != 1 {
		t.Fatalf("outputs = %+v", outputs)
	}
	if plan := tf("plan", "-detailed-exitcode", "-input=false", "-no-color"); !strings.Contains(plan, "No changes") {
		t.Fatalf("a second plan is not empty:\n%s", plan)
	}

	// An in-flight request finishes after SIGTERM: send a create's headers
	// and half its body, signal, then send the rest.
	conn, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"name":"in-flight","description":"sent across a SIGTERM"}`
	fmt.Fprintf(conn, "POST /v1/projects HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", addr, write, len(body), body[:10])
	time.Sleep(200 * time.Millisecond) // let the server start reading the request
	if err := eng.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(eng.stderr.String(), "shutting down") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight request got no response: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("the in-flight create answered %d, want 201", resp.StatusCode)
	}
	select {
	case err := <-eng.done:
		if err != nil {
			t.Fatalf("the engine exited with %v after SIGTERM:\n%s", err, eng.stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the engine did not stop within 60s of SIGTERM")
	}

	// Restart: same data, no new token.
	again := start(t, bin, env)
	again.waitReady(t, addr)
	if tokenLine.MatchString(again.stdout.String()) {
		t.Fatalf("a restart printed a new token:\n%s", again.stdout.String())
	}
	c, err := client.New(endpoint, admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"checkout", "in-flight"} {
		if _, err := c.GetProject(context.Background(), name); err != nil {
			t.Fatalf("project %s lost across a restart: %v", name, err)
		}
	}
	if plan := tf("plan", "-input=false", "-no-color"); !strings.Contains(plan, "No changes") {
		t.Fatalf("the plan after a restart is not empty:\n%s", plan)
	}
	again.stop(t)
}

type syncBuffer struct {
	mu  chanMutex
	buf bytes.Buffer
}

type chanMutex chan struct{}

func (b *syncBuffer) lock() {
	if b.mu == nil {
		b.mu = make(chanMutex, 1)
	}
	b.mu <- struct{}{}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.lock()
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.lock()
	defer func() { <-b.mu }()
	return b.buf.String()
}
