package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// Tofu prepares terraform-plugin-testing to drive OpenTofu: it sets
// TF_ACC_TERRAFORM_PATH (unless already set) to bin/tofu from `make tools`,
// the provider host and namespace OpenTofu expands short sources to, and an
// empty CLI config so that no user configuration leaks in. Under CI=true a
// missing OpenTofu or an unset TF_ACC fails the test.
func Tofu(t *testing.T) {
	t.Helper()
	path := TofuPath(t)
	if os.Getenv("TF_ACC") == "" {
		Unavailable(t, "TF_ACC", "acceptance tests run with TF_ACC=1; `make test` sets it")
	}
	t.Setenv("TF_ACC_TERRAFORM_PATH", path)
	t.Setenv("TF_ACC_PROVIDER_HOST", "registry.opentofu.org")
	t.Setenv("TF_ACC_PROVIDER_NAMESPACE", "progressive-delivery")
	cfg := filepath.Join(t.TempDir(), "tofurc")
	if err := os.WriteFile(cfg, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TF_CLI_CONFIG_FILE", cfg)
}

// TofuPath returns the OpenTofu binary: TF_ACC_TERRAFORM_PATH, else bin/tofu
// from `make tools`, else tofu on PATH.
func TofuPath(t testing.TB) string {
	t.Helper()
	path := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if path == "" {
		path = findProgram("tofu")
	}
	if path == "" {
		Unavailable(t, "OpenTofu", "run `make tools` to build bin/tofu, or set TF_ACC_TERRAFORM_PATH")
	}
	return path
}
