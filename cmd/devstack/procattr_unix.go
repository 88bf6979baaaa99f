//go:build unix && !linux

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// ownGroup starts cmd in its own process group, so stopping it reaches the
// JVM's children too. (Pdeathsig is Linux only: elsewhere a devstack killed
// with SIGKILL leaves DynamoDB Local running.)
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup asks the process group led by p to stop, or kills it when force is set.
func signalGroup(p *os.Process, force bool) error {
	sig := syscall.SIGTERM
	if force {
		sig = syscall.SIGKILL
	}
	return syscall.Kill(-p.Pid, sig)
}
