//go:build !unix

package testserver

import (
	"errors"
	"os/exec"
	"syscall"
)

// Signals are Unix's; elsewhere Start runs the server but the other
// controls fail the test.
const (
	sigKill = syscall.Signal(9)
	sigTerm = syscall.Signal(15)
	sigInt  = syscall.Signal(2)
	sigStop = syscall.Signal(19)
	sigCont = syscall.Signal(18)
)

func ownGroup(*exec.Cmd) {}

func signalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	if sig == sigKill {
		return cmd.Process.Kill()
	}
	return errors.New("testserver: signals other than kill need a Unix system")
}

func runAs(*exec.Cmd, uint32, uint32) {}

func awaitStopped(*exec.Cmd) {}

func awaitGone(*exec.Cmd) {}
