//go:build unix

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// prepare makes cmd start in a process group of its own, so that signals
// reach everything it starts, and, where the system can, die with this
// process: a member killed with SIGKILL must not leave its job running
// while another member starts it.
func prepare(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(cmd.SysProcAttr)
}

// signalGroup sends sig to the process group led by pid.
func signalGroup(pid int, sig syscall.Signal) error {
	return syscall.Kill(-pid, sig)
}

// exitStatus is the status a shell would report for ps: the exit code,
// or 128 plus the number of the signal that killed the process.
func exitStatus(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// signalProcess sends sig to the process pid.
func signalProcess(pid int, sig syscall.Signal) error {
	return syscall.Kill(pid, sig)
}
