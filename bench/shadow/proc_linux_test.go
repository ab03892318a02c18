package shadowbench

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel stop cmd when this process ends, however
// it ends: a benchmark stopped halfway leaves no proxy or nginx behind.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
