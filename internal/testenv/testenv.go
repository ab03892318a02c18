// Package testenv starts the real programs that tests need (PostgreSQL,
// moto, OpenTofu) and decides what happens when one is missing: outside CI the
// test is skipped with the command that installs it; under CI=true the test
// fails, because CI must never pass by skipping.
//
// Test binaries that use it call Main from TestMain so that the services it
// starts are stopped when the tests end.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

// Main runs the tests and then stops every service that testenv started.
func Main(m *testing.M) {
	code := m.Run()
	cleanupMu.Lock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanupMu.Unlock()
	os.Exit(code)
}

func atExit(f func()) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	cleanups = append(cleanups, f)
}

// InCI reports whether the tests run in CI (CI=true or CI=1).
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// Unavailable stops t because a required program or service is missing:
// a failure under CI, a skip elsewhere.
func Unavailable(t testing.TB, what, fix string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is required under CI=true but unavailable: %s", what, fix)
	}
	t.Skipf("%s unavailable (%s); under CI=true this fails", what, fix)
}

// RepoRoot returns the directory that holds go.mod.
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("testenv: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// findProgram looks for a program in the repository's bin/ and then on PATH.
func findProgram(name string) string {
	p := filepath.Join(RepoRoot(), "bin", name)
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return ""
}
