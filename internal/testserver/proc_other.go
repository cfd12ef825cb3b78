//go:build !unix

package testserver

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Signals are Unix's; elsewhere Start and Kill work, and the other
// controls fail the test.
const (
	sigKill = syscall.Signal(9)
	sigTerm = syscall.Signal(15)
	sigInt  = syscall.Signal(2)
	sigStop = syscall.Signal(19)
	sigCont = syscall.Signal(18)
)

var errNoSignals = errors.New("testserver: signals other than kill need a Unix system")

func ownGroup(*exec.Cmd)                      {}
func runAs(*exec.Cmd, uint32, uint32)         {}
func procs(cmd *exec.Cmd) []int               { return []int{cmd.Process.Pid} }
func freeze(*exec.Cmd) error                  { return errNoSignals }
func thaw(*exec.Cmd) error                    { return errNoSignals }
func awaitState([]int, string, time.Duration) {}

func signalAll(pids []int, sig syscall.Signal) error {
	if sig != sigKill {
		return errNoSignals
	}
	p, err := os.FindProcess(pids[0])
	if err != nil {
		return err
	}
	return p.Kill()
}
