//go:build !linux

package shadowbench

import "os/exec"

// dieWithParent does nothing outside Linux.
func dieWithParent(*exec.Cmd) {}
