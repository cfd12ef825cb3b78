// Command bellwether runs a command on exactly one member of a group of
// processes, watches a group's leader, and shows the election at work.
//
//	bellwether demo                       # five members, a crash, a handover
//	bellwether run [flags] -- COMMAND ... # run COMMAND while this member leads
//	bellwether watch [flags]              # print the leader as it changes
//	bellwether status [flags]             # print the leader and exit
//	bellwether sim [flags]                # simulate a group in virtual time
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
	// inProcess lets tests run several members in one process, where a
	// mem:// bus is shared; the command refuses mem:// otherwise.
	inProcess bool
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

// command is one of bellwether's subcommands: what the overview and its
// --help say about it, and the function that runs it. commands lists them
// all, in commands.go, beside their help texts.
type command struct {
	name     string
	short    string // one line for the overview
	synopsis string // after "bellwether NAME"
	about    string // paragraphs
	examples string
	// run runs the subcommand with the arguments after its name; cmd is
	// the command itself, for its usage text and error prefix.
	run    func(c *cli, cmd *command, ctx context.Context, args []string) int
	hidden bool // not in the overview: the demo's job and the guard
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

  # Run a long-lived worker on one of the hosts or processes that run this
  # line; the others stand by and take over if it fails.
  bellwether run --group consumer -- ./consume --queue jobs

  # Who leads the group "consumer"?
  bellwether status --group consumer

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
	i := slices.IndexFunc(commands, func(s *command) bool { return s.name == name })
	if i < 0 {
		if strings.HasPrefix(name, "-") {
			return c.fail("", exitUsage, fmt.Errorf("flag %s comes before the subcommand; write bellwether SUBCOMMAND %s ... (subcommands: %s)", name, name, visibleNames()))
		}
		return c.fail("", exitUsage, fmt.Errorf("unknown subcommand %q; use one of %s (bellwether --help explains them)", name, visibleNames()))
	}
	return commands[i].run(c, commands[i], ctx, args[1:])
}

func visibleNames() string {
	var names []string
	for _, s := range commands {
		if !s.hidden {
			names = append(names, s.name)
		}
	}
	return strings.Join(names, ", ")
}

func (c *cli) printOverview(w io.Writer) {
	var b strings.Builder
	for _, s := range commands {
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
