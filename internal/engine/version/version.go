// Package version holds the build's version, set by the linker
// (-X github.com/progressive-delivery/terraform-provider-progressive/internal/engine/version.Version=...).
package version

// Version is the release version, or "dev" for a local build.
var Version = "dev"
