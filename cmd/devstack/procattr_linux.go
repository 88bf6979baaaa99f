//go:build linux

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// ownGroup starts cmd in its own process group, so stopping it reaches the
// JVM's children too, and has the kernel send it SIGTERM if devstack dies.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// signalGroup asks the process group led by p to stop, or kills it when force is set.
func signalGroup(p *os.Process, force bool) error {
	sig := syscall.SIGTERM
	if force {
		sig = syscall.SIGKILL
	}
	return syscall.Kill(-p.Pid, sig)
}
