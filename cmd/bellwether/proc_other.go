//go:build !unix

package main

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func monotonicNow() (time.Duration, bool) { return 0, false }

// This system has no process groups or POSIX signals: bellwether run
// works on Unix only.

func prepare(*exec.Cmd) {}

func signalGroup(int, syscall.Signal) error {
	return errors.New("process groups are not supported on this system")
}

func groupExists(int) bool { return false }

func processExists(int) bool { return false }

func exitStatus(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	return ps.ExitCode()
}

func signalProcess(pid int, sig syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
