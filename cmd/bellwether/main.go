// Command bellwether runs a command on exactly one member of a group of
// processes, watches a group's leader, and shows the election at work.
//
//	bellwether demo                       # five members, a crash, a handover
//	bellwether run [flags] -- COMMAND ... # run COMMAND while this member leads
//	bellwether watch [flags]              # print the leader as it changes
//	bellwether status [flags]             # print the leader and exit
//
// Run "bellwether SUBCOMMAND --help" for each subcommand's flags and
// examples; docs/cli.md describes them all.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1 // something failed after start-up
	exitUsage    = 2 // bad flag, URL, settings or command; unreachable bus
	exitNoLeader = 3 // status: no leader was heard
)

// stopSignals end run, watch, status and demo cleanly.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

func main() {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, stopSignals...)
	c := &cli{
		stdin:   os.Stdin,
		stdout:  os.Stdout,
		stderr:  os.Stderr,
		environ: os.Environ(),
		signals: sig,
	}
	os.Exit(c.main(context.Background(), os.Args[1:]))
}

// cli is one invocation of the command, with its world passed in so that
// tests can run it in-process.
type cli struct {
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	environ []string         // KEY=VALUE, as os.Environ
	signals <-chan os.Signal // SIGINT, SIGTERM and SIGHUP, or a test's channel
}

// getenv returns the value of the environment variable key, or "".
func (c *cli) getenv(key string) string {
	for i := len(c.environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(c.environ[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// subcommand is one of bellwether's subcommands.
type subcommand struct {
	name   string
	short  string // one line for the overview
	run    func(c *cli, ctx context.Context, args []string) int
	hidden bool
}

var subcommands = []subcommand{
	{name: "demo", short: "start five members on this host and show an election, a failover and a handover", run: (*cli).cmdDemo},
	{name: "run", short: "run a command on exactly one member of a group", run: (*cli).cmdRun},
	{name: "watch", short: "print the group's leader, one JSON line per change", run: (*cli).cmdWatch},
	{name: "status", short: "print the group's leader and exit (exit 3 when there is none)", run: (*cli).cmdStatus},
	{name: "sim", short: "simulate a group in virtual time: election, failover and cost under faults", run: (*cli).cmdSim},
	{name: demoJobName, short: "the demo's job: wait for SIGTERM", run: (*cli).cmdDemoJob, hidden: true},
}

const overview = `bellwether elects one leader among processes that share a bus, and runs a
command on the leader only.

Usage:
  bellwether SUBCOMMAND [flags] [-- COMMAND [ARGS...]]

Subcommands:
%s
Run "bellwether SUBCOMMAND --help" for the flags and examples of each.

Examples:
  # See it work: five members, a crash and a clean handover, in seconds.
  bellwether demo

  # Run a job on one of the hosts or processes that run this line.
  bellwether run --group nightly-report -- ./report.sh

  # Who leads the group "nightly-report"?
  bellwether status --group nightly-report

Exit status: 0 on success, 2 for a usage or configuration error (one line on
stderr says what to fix), 3 when status hears no leader; run exits with its
command's status.
`

func (c *cli) main(ctx context.Context, args []string) int {
	if len(args) == 0 {
		c.printOverview(c.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && name == "help" {
			return c.main(ctx, []string{args[1], "--help"})
		}
		c.printOverview(c.stdout)
		return exitOK
	}
	i := slices.IndexFunc(subcommands, func(s subcommand) bool { return s.name == name })
	if i < 0 {
		if strings.HasPrefix(name, "-") {
			return c.fail("", exitUsage, fmt.Errorf("flag %s comes before the subcommand; write bellwether SUBCOMMAND %s ... (subcommands: %s)", name, name, visibleNames()))
		}
		return c.fail("", exitUsage, fmt.Errorf("unknown subcommand %q; use one of %s (bellwether --help explains them)", name, visibleNames()))
	}
	return subcommands[i].run(c, ctx, args[1:])
}

func visibleNames() string {
	var names []string
	for _, s := range subcommands {
		if !s.hidden {
			names = append(names, s.name)
		}
	}
	return strings.Join(names, ", ")
}

func (c *cli) printOverview(w io.Writer) {
	var b strings.Builder
	for _, s := range subcommands {
		if !s.hidden {
			fmt.Fprintf(&b, "  %-8s %s\n", s.name, s.short)
		}
	}
	fmt.Fprintf(w, overview, b.String())
}

// fail prints err as one line, "bellwether SUB: ERR", and returns code.
func (c *cli) fail(sub string, code int, err error) int {
	prefix := "bellwether"
	if sub != "" {
		prefix += " " + sub
	}
	msg := strings.ReplaceAll(oneLine(err), "bellwether: ", "")
	fmt.Fprintf(c.stderr, "%s: %s\n", prefix, msg)
	return code
}

// oneLine returns err's message with its line breaks replaced.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
}
