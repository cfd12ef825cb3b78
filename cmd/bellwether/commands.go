package main

// The subcommands, in the overview's order; what each says in --help is
// here, beside the others, so that they read alike and agree with
// docs/cli.md. Each one's run function is in the file of its name.

var commands = []*command{demoCmd, runCmd, watchCmd, statusCmd, simCmd, demoJobCmd, guardCmd}

var demoCmd = &command{
	name:     "demo",
	short:    "start five members on this host and show an election, a failover and a handover",
	run:      (*cli).cmdDemo,
	synopsis: "",
	about: `
Shows bellwether at work on this host, with no set-up and no server. It
starts 5 members as real processes ("bellwether run" on a private local bus
in a temporary directory, with short timings), each ready to run a job while
it leads, and prints what happens as it happens:

  1. the election of a first leader, whose job starts;
  2. a failover: the leader is killed with SIGKILL, and another member takes
     over once the leader's heartbeats have timed out;
  3. a handover: the next leader is stopped cleanly with SIGTERM; it stops
     its job and withdraws, and the others elect at once.

Each step shows its measured time; a summary follows. The demo takes about
6 seconds, leaves nothing running and removes its directory, also when
interrupted. Its output is plain text when not written to a terminal.`,
	examples: `  bellwether demo
  bellwether demo | tee demo.txt`,
}

var runCmd = &command{
	name:     "run",
	short:    "run a command on exactly one member of a group",
	run:      (*cli).cmdRun,
	synopsis: "[flags] -- COMMAND [ARGS...]",
	about: `
Joins the group and, while this member leads, runs COMMAND with stdin,
stdout and stderr passed through. COMMAND's environment names the member
(BELLWETHER_MEMBER_ID, BELLWETHER_GROUP) and the member's bus and timings,
so that "bellwether status" or "watch" run by COMMAND look at the same
group; BELLWETHER_ID, BELLWETHER_HTTP, BELLWETHER_VALUE and
BELLWETHER_PREEMPT are removed from it. BELLWETHER_EPOCH is the epoch of
the leadership COMMAND was started in: its fencing token, which a store
can check to refuse a stale leader's writes (docs/fencing.md). The epoch
can rise while COMMAND runs, after two leaders met; "bellwether status
--json" prints the current one.

--value announces a string while this member leads, typically its
address, which watch, status --json and GET /leader show. The smallest id
wins an election, but a member that joins a group with a leader follows
it; with --preempt, a member whose id sorts before the leader's takes
over: the leader stops its COMMAND, then hands over, and this member's
COMMAND starts after.

COMMAND runs under a guard, a small process of its own that kills
COMMAND's whole process group with SIGKILL when this member's lease runs
out (the member was frozen or is too slow to renew it), when run dies
(kill -9 included), or when run tells it to. Killing the guard kills the
group too. A process that leaves the group (setsid, a shell's job control)
escapes; docs/cli.md says what is covered.

When leadership is lost, COMMAND's process group gets SIGTERM, then SIGKILL
after --grace or when the lease ends, whichever comes first; the member
stays in the group and runs COMMAND again if it leads again. When COMMAND
exits on its own, what it left in its process group is stopped the same
way, the member withdraws (so another is elected at once) and run exits
with COMMAND's status (128+N if signal N killed it); COMMAND is not run
again. On SIGINT, SIGTERM or SIGHUP, run stops COMMAND the same way,
withdraws and exits 0; a second signal kills COMMAND at once. One member
never runs two COMMANDs at a time.

COMMAND runs in a process group of its own, so it cannot read from the
terminal. Start-up errors (bad flag, URL or settings, unreachable bus,
COMMAND not found) print one line and exit 2.`,
	examples: `  # Run a long-lived service on one of the hosts where this line runs
  # (from systemd or your init system on every host; not from cron):
  bellwether run --bus nats://nats.internal:4222 --group report-sync -- ./report-sync

  # Three local workers; one consumes the queue at a time:
  for i in 1 2 3; do bellwether run --group consumer -- ./consume --queue jobs & done

  # Faster failover, a status server, JSON logs:
  bellwether run --group sync --heartbeat-interval 500ms --heartbeat-timeout 2s \
      --election-timeout 300ms --http 127.0.0.1:9090 --log-format json -- ./sync

  # Prefer this host (its id sorts first), announce its address, and fence
  # the job's writes with its epoch:
  bellwether run --group sync --id a-primary --preempt --value 10.0.0.5:8080 \
      -- sh -c './sync --fence "$BELLWETHER_EPOCH"'`,
}

var watchCmd = &command{
	name:     "watch",
	short:    "print the group's leader, one JSON line per change",
	run:      (*cli).cmdWatch,
	synopsis: "[flags]",
	about: `
Joins the group as an observer, which never becomes leader and sends
nothing, and prints one JSON object per line each time the known leader
changes, or its value or epoch does:

  {"time":"2025-01-02T15:04:05.123456789Z","group":"default","leader":"web-1","value":"10.0.0.5:8080","epoch":1764635791000000}

with "leader":null, "value":"" and "epoch":0 while no leader is known
(after the leader withdrew or timed out, during an election). "value" is
what the leader announces (run --value), "epoch" its fencing token (0 for
a leader that sends none, a reference client). Nothing is printed until a leader is first
heard, within one heartbeat interval when there is one. Runs until
interrupted (SIGINT, SIGTERM or SIGHUP), then exits 0.`,
	examples: `  # Follow the leader of the group "nightly-report":
  bellwether watch --group nightly-report

  # On NATS, only the leader ids:
  bellwether watch --bus nats://127.0.0.1:4222 --group sync | jq -r '.leader // "none"'`,
}

var statusCmd = &command{
	name:     "status",
	short:    "print the group's leader and exit (exit 3 when there is none)",
	run:      (*cli).cmdStatus,
	synopsis: "[flags]",
	about: `
Joins the group as an observer for up to --wait, prints the leader's id and
exits 0 as soon as it hears one; or prints nothing on stdout, says why on
stderr and exits 3 when it heard no leader. The leader announces itself
every heartbeat interval, so the default wait (heartbeat interval plus
election timeout) hears a leader that exists.

With --json it prints one JSON object on one line instead, also when it
heard no leader (then "leader" is null, and it exits 3):

  {"group":"default","bus":"local://","leader":"web-1","value":"10.0.0.5:8080","epoch":1764635791000000}

"value" is what the leader announces (run --value, "" if none), "epoch" its
epoch now, the fencing token (0 when unknown).`,
	examples: `  # Who leads the group "nightly-report" on this host?
  bellwether status --group nightly-report

  # In a script:
  if leader=$(bellwether status --bus nats://127.0.0.1:4222 --group sync); then
      echo "leader: $leader"
  else
      echo "no leader"   # exit status 3
  fi

  # The leader's address and epoch:
  bellwether status --json --group sync | jq -r '.value, .epoch'`,
}

var simCmd = &command{
	name:     "sim",
	short:    "simulate a group in virtual time: election, failover and cost under faults",
	run:      (*cli).cmdSim,
	synopsis: "[--scenario FILE] [flags]",
	about: `
Simulates a group in virtual time with the real election state machine:
N members over a network with latency, loss, duplication, partitions,
crashes, withdrawals and late joiners, repeated with derived seeds. It
prints the time to one leader after start, failover times after a crash
and after a withdrawal of the leader (p50, p99, max), the total time with
more than one leader, broadcasts and deliveries per election and per
simulated hour, and leadership changes. The same seed and scenario always
give the same report.

The scenario comes from --scenario (the file format is in
docs/simulator.md) or, without it, from a default: 5 members, the leader
crashes and later withdraws every two minutes, for ten minutes less the last
withdrawal, twenty
times. Flags override the file or the default; --fault replaces the
default's faults (with a file, it adds to them).

While it runs, the simulator checks invariants: a leader is always a live
member; once the network is connected and quiet for the bound B, exactly
one member leads and all know it; and then nothing changes. A violation
stops it with exit status 1, the seed to rerun it, and the trace around it.`,
	examples: `  # The default scenario, as a table:
  bellwether sim

  # 1,000 members in quiet mode for one simulated hour, a crash every ten minutes:
  bellwether sim --members 1000 --duration 1h --repetitions 1 \
      --fault "at 5m every 10m crash leader" --fault "at 6m every 10m restart"

  # The reference protocol against the quiet one, and a timeline in the browser:
  bellwether sim --modes reference --svg reference.svg
  bellwether sim --modes quiet --svg quiet.svg

  # A scenario file, as JSON:
  bellwether sim --scenario partition.txt --json`,
}

var demoJobCmd = &command{name: demoJobName, short: "the demo's job: wait for SIGTERM", run: (*cli).cmdDemoJob, hidden: true}

var guardCmd = &command{
	name:     guardName,
	short:    "run's guard of a job: kills the job's process group when the lease runs out or run dies",
	synopsis: "PATH ARGV0 [ARGS...]",
	about:    `Started by bellwether run with the job's command; see guard.go.`,
	run:      (*cli).cmdGuard,
	hidden:   true,
}
