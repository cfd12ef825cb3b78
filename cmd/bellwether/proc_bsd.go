//go:build unix && !linux

package main

import (
	"syscall"
	"time"
)

// monotonicNow is not available here: the guard's lease is then a
// duration from when the guard reads it (see guard.go).
func monotonicNow() (time.Duration, bool) { return 0, false }

// setParentDeathSignal does nothing here: only Linux kills a child when
// its parent dies. A member killed with SIGKILL leaves its job running.
func setParentDeathSignal(*syscall.SysProcAttr) {}

// processExists reports whether pid exists (zombies included).
func processExists(pid int) bool { return syscall.Kill(pid, 0) == nil }

// groupExists reports whether a process of the group led by pid is left.
func groupExists(pid int) bool { return syscall.Kill(-pid, 0) == nil }
