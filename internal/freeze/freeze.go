//go:build unix

// Package freeze holds the checks of what a bus does when its server or
// its socket stops, and stops server processes with SIGSTOP for the tests that
// show what a bus does while its server is frozen (as a long GC pause, a
// stalled container or an overloaded host look to its clients).
package freeze

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Process stops pid, and then its children (PostgreSQL's backends, each
// in a session of its own), with SIGSTOP, and waits until they are
// stopped. The returned thaw continues them; the test's cleanup calls it
// too.
func Process(t testing.TB, pid int, withChildren bool) (thaw func()) {
	t.Helper()
	pids := []int{pid}
	// The parent first, so that it forks no new child meanwhile.
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP %d: %v", pid, err)
	}
	thaw = func() {
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGCONT)
		}
	}
	t.Cleanup(thaw)
	awaitStopped(t, pid)
	if withChildren {
		for _, c := range children(t, pid) {
			if syscall.Kill(c, syscall.SIGSTOP) == nil {
				pids = append(pids, c)
				awaitStopped(t, c)
			}
		}
	}
	return thaw
}

// stat returns the fields of /proc/PID/stat after the command name:
// state, ppid, ...
func stat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:]), nil
}

// awaitStopped waits until pid is stopped or dead, since a signal takes
// effect asynchronously.
func awaitStopped(t testing.TB, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		f, err := stat(pid)
		if err != nil {
			if os.IsNotExist(err) {
				if _, err := os.Stat("/proc/self"); err != nil {
					time.Sleep(50 * time.Millisecond) // no /proc: give the signal time
				}
			}
			return
		}
		if len(f) > 0 && strings.ContainsAny(f[0], "TtZX") {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("process %d did not stop within 5s of SIGSTOP", pid)
}

// children lists the children of ppid, from /proc.
func children(t testing.TB, ppid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("finding the children of %d needs /proc: %v", ppid, err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f, err := stat(pid); err == nil && len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			pids = append(pids, pid)
		}
	}
	return pids
}
