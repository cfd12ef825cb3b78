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

// ownGroup makes cmd the leader of a new process group.
func ownGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// runAs makes cmd run as the user with the given ids.
func runAs(cmd *exec.Cmd, uid, gid uint32) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uid, Gid: gid}
}

// procs returns the server's processes: cmd's and its descendants, parents
// first. A process group would not do: PostgreSQL puts each backend in a
// session of its own. Without Linux's /proc it returns cmd's alone.
func procs(cmd *exec.Cmd) []int {
	root := cmd.Process.Pid
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil || len(stats) == 0 {
		return []int{root}
	}
	children := map[int][]int{}
	for _, f := range stats {
		pid, ppid, _, ok := readStat(f)
		if ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// readStat returns the pid, parent pid and state in a /proc stat file.
func readStat(file string) (pid, ppid int, state string, ok bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, 0, "", false
	}
	// pid (comm) state ppid …; comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	j := strings.IndexByte(s, ' ')
	if i < 0 || j < 0 {
		return 0, 0, "", false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, 0, "", false
	}
	pid, err1 := strconv.Atoi(s[:j])
	ppid, err2 := strconv.Atoi(f[1])
	return pid, ppid, f[0], err1 == nil && err2 == nil
}

// signalAll sends sig to each of pids, and returns the first error for the
// first of them (the server itself).
func signalAll(pids []int, sig syscall.Signal) error {
	var first error
	for i, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil && i == 0 {
			first = err
		}
	}
	return first
}

// freeze stops every process of the server and waits until every thread
// of each is stopped, since a signal takes effect a moment after kill
// returns. A process forked meanwhile is caught by the second look.
func freeze(cmd *exec.Cmd) error {
	pids := procs(cmd)
	if err := signalAll(pids, sigStop); err != nil {
		return err
	}
	pids = procs(cmd)
	signalAll(pids, sigStop)
	awaitState(pids, "TtZX", 5*time.Second)
	return nil
}

// thaw lets every process of the server go on.
func thaw(cmd *exec.Cmd) error {
	return signalAll(procs(cmd), sigCont)
}

// awaitState waits until every thread of pids is in one of states, or
// gone, for at most limit. Without /proc it waits a moment instead.
func awaitState(pids []int, states string, limit time.Duration) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		time.Sleep(100 * time.Millisecond)
		return
	}
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if allIn(pids, states) {
			return
		}
	}
}

func allIn(pids []int, states string) bool {
	for _, pid := range pids {
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/[0-9]*/stat")
		for _, f := range tasks {
			if _, _, st, ok := readStat(f); ok && !strings.Contains(states, st) {
				return false
			}
		}
	}
	return true
}
