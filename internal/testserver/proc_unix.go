//go:build unix

package testserver

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	sigKill = syscall.SIGKILL
	sigTerm = syscall.SIGTERM
	sigInt  = syscall.SIGINT
	sigStop = syscall.SIGSTOP
	sigCont = syscall.SIGCONT
)

// ownGroup makes cmd the leader of a new process group, which its
// children join.
func ownGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// signalGroup sends sig to every process of cmd's process group.
func signalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	return syscall.Kill(-cmd.Process.Pid, sig)
}

// runAs makes cmd run as the user with the given ids.
func runAs(cmd *exec.Cmd, uid, gid uint32) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uid, Gid: gid}
}

// awaitStopped waits until every thread of every process in cmd's process
// group is stopped, since a signal reaches a process a moment after kill
// returns. Without Linux's /proc it waits a moment instead.
func awaitStopped(cmd *exec.Cmd) {
	pgid := strconv.Itoa(cmd.Process.Pid)
	if _, err := os.Stat("/proc/self/task"); err != nil {
		time.Sleep(100 * time.Millisecond)
		return
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if allIn(pgid, "TtZX") {
			return
		}
	}
}

// awaitGone waits until every process of cmd's process group has exited
// (a killed server's children may outlive it a moment, holding its port,
// files and shared memory). Without /proc it waits a moment instead.
func awaitGone(cmd *exec.Cmd) {
	pgid := strconv.Itoa(cmd.Process.Pid)
	if _, err := os.Stat("/proc/self/task"); err != nil {
		time.Sleep(100 * time.Millisecond)
		return
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if allIn(pgid, "ZX") {
			return
		}
	}
}

// allIn reports whether every thread of the process group pgid is in one
// of states.
func allIn(pgid, states string) bool {
	stats, _ := filepath.Glob("/proc/[0-9]*/task/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid pgrp …; comm may hold spaces.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) < 3 || fields[2] != pgid {
			continue
		}
		if !strings.Contains(states, fields[0]) {
			return false
		}
	}
	return true
}
