package main

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

// monotonicNow reads CLOCK_MONOTONIC, which all the processes of a host
// (of one time namespace) share, unlike the monotonic readings of Go's
// time.Time, which are private to a process.
func monotonicNow() (time.Duration, bool) {
	const clockMonotonic = 1
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// setParentDeathSignal has the kernel kill the child when the thread that
// started it exits, which the caller keeps alive (runtime.LockOSThread)
// for as long as the child runs: so, when this process dies.
func setParentDeathSignal(a *syscall.SysProcAttr) {
	a.Pdeathsig = syscall.SIGKILL
}

// procStat returns the state and process group of pid from /proc, and
// false if there is no such process.
func procStat(pid string) (state byte, pgrp int, ok bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, false
	}
	pgrp, err = strconv.Atoi(string(f[2]))
	if err != nil {
		return 0, 0, false
	}
	return f[0][0], pgrp, true
}

// processExists reports whether pid runs: a zombie, dead but not yet
// reaped (by a slow init, say), does not count.
func processExists(pid int) bool {
	state, _, ok := procStat(strconv.Itoa(pid))
	return ok && state != 'Z'
}

// groupExists reports whether a live process of the group led by pid is
// left; zombies do not count.
func groupExists(pid int) bool {
	if syscall.Kill(-pid, 0) != nil {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		name := e.Name()
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		if state, pgrp, ok := procStat(name); ok && pgrp == pid && state != 'Z' {
			return true
		}
	}
	return false
}
