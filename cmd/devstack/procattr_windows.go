//go:build windows

package main

import (
	"os"
	"os/exec"
)

// ownGroup does nothing on Windows: there are no process groups to signal.
func ownGroup(*exec.Cmd) {}

// signalGroup kills p: Windows has no SIGTERM to ask politely with.
func signalGroup(p *os.Process, _ bool) error {
	return p.Kill()
}
