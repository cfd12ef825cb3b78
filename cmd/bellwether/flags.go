package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bellwether-go/bellwether"
	"github.com/bellwether-go/bellwether/internal/redact"
)

// common are the flags of run, watch and status.
type common struct {
	bus       string
	group     string
	id        string
	settings  bellwether.Settings
	keyFile   string
	http      string
	logFormat string
	logLevel  string

	// run's own, which register does not define: watch and status are
	// observers, which announce nothing and never stand.
	value   string // Config.Value: announced while this member leads
	preempt bool   // Config.Preempt: take over from a leader whose id sorts after ours
}

// envName returns the environment variable that sets flag name.
func envName(name string) string {
	return "BELLWETHER_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// durationFlag is a flag.Value for a Go duration with a helpful error.
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("not a duration; write a Go duration such as 500ms, 2s or 1m30s")
	}
	*f.d = d
	return nil
}

// boolFlag is a flag.Value for a boolean with a helpful error; given
// without a value (--preempt) it is true.
type boolFlag struct{ b *bool }

func (f boolFlag) IsBoolFlag() bool { return true }

func (f boolFlag) String() string {
	if f.b == nil {
		return "false"
	}
	return strconv.FormatBool(*f.b)
}

func (f boolFlag) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("not a boolean; write true or false")
	}
	*f.b = b
	return nil
}

func boolVar(fs *flag.FlagSet, p *bool, name string, usage string) {
	*p = false
	fs.Var(boolFlag{p}, name, usage)
}

func durationVar(fs *flag.FlagSet, p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	fs.Var(durationFlag{p}, name, usage)
}

// register defines the common flags on fs.
func (co *common) register(fs *flag.FlagSet) {
	def := bellwether.DefaultSettings()
	fs.StringVar(&co.bus, "bus", "", "bus `URL`: local:// (the default: processes of this user on this host, no server),\nlocal:///DIR, udp://239.1.2.3:9999?iface=eth0, nats://host:4222,\nredis://host:6379/0, postgres://user:password@host:5432/db")
	fs.StringVar(&co.group, "group", "default", "group `NAME` to elect in: letters, digits, '-', '_' and '.'")
	fs.StringVar(&co.id, "id", "", "this member's `ID`, unique in the group (default HOSTNAME-PID)")
	durationVar(fs, &co.settings.ElectionTimeout, "election-timeout", def.ElectionTimeout, "how long an election collects candidates")
	durationVar(fs, &co.settings.HeartbeatInterval, "heartbeat-interval", def.HeartbeatInterval, "how often the leader announces itself")
	durationVar(fs, &co.settings.HeartbeatTimeout, "heartbeat-timeout", def.HeartbeatTimeout, "how long without a heartbeat before a new election")
	fs.StringVar(&co.keyFile, "key-file", "", "`PATH` of the group's key (authentication is not available yet: giving it is an error)")
	fs.StringVar(&co.http, "http", "", "serve /leader, /healthz and /metrics on `ADDR` (host:port; off by default)")
	fs.StringVar(&co.logFormat, "log-format", "text", "log `FORMAT` on stderr: text or json")
	fs.StringVar(&co.logLevel, "log-level", "info", "log `LEVEL`: debug, info, warn or error")
}

// validate checks the common flags once parsed, and fills in the id.
func (co *common) validate() error {
	if co.keyFile != "" {
		return fmt.Errorf("--key-file %q: authentication is not available yet; remove --key-file (and %s) until a release supports it", co.keyFile, envName("key-file"))
	}
	if err := bellwether.ValidateGroup(co.group); err != nil {
		return fmt.Errorf("--group: %w", err)
	}
	if co.id == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "host"
		}
		co.id = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if err := bellwether.ValidateID(co.id); err != nil {
		return fmt.Errorf("--id: %w", err)
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"election-timeout", co.settings.ElectionTimeout},
		{"heartbeat-interval", co.settings.HeartbeatInterval},
		{"heartbeat-timeout", co.settings.HeartbeatTimeout},
	} {
		if f.d <= 0 {
			return fmt.Errorf("--%s %v: must be positive", f.name, f.d)
		}
	}
	if err := co.settings.Validate(); err != nil {
		var se *bellwether.SettingsError
		if errors.As(err, &se) && se.Field == "HeartbeatTimeout" {
			return fmt.Errorf("--heartbeat-timeout %v must be greater than --heartbeat-interval %v, or followers time out between heartbeats", co.settings.HeartbeatTimeout, co.settings.HeartbeatInterval)
		}
		return err
	}
	co.logFormat = strings.ToLower(co.logFormat)
	switch co.logFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format %q: use text or json", co.logFormat)
	}
	if _, err := parseLevel(co.logLevel); err != nil {
		return err
	}
	if len(co.value) > bellwether.MaxValueLength {
		return fmt.Errorf("--value: %d bytes, over the limit of %d; announce something shorter, such as this member's address", len(co.value), bellwether.MaxValueLength)
	}
	if !utf8.ValidString(co.value) {
		return fmt.Errorf("--value %q: not valid UTF-8", co.value)
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: use debug, info, warn or error", s)
	}
	return l, nil
}

// logger returns the logger the flags ask for, writing to w. Durations
// are Go durations in text ("1.5s") and seconds in JSON (1.5), as people
// and log pipelines read them best.
func (co *common) logger(w io.Writer) *slog.Logger {
	level, _ := parseLevel(co.logLevel)
	opts := &slog.HandlerOptions{Level: level}
	if co.logFormat == "json" {
		opts.ReplaceAttr = secondsAttr
		return slog.New(scrubLogs(slog.NewJSONHandler(w, opts), co.bus))
	}
	return slog.New(scrubLogs(slog.NewTextHandler(w, opts), co.bus))
}

// secondsAttr writes a duration as a number of seconds.
func secondsAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.Float64Value(a.Value.Duration().Seconds())
	}
	return a
}

// validate checks co once parsed, as co.validate does, and refuses a bus
// that processes cannot share.
func (c *cli) validate(co *common) error {
	if err := co.validate(); err != nil {
		return err
	}
	if u, err := url.Parse(co.bus); err == nil && strings.EqualFold(u.Scheme, "mem") && !c.inProcess {
		return fmt.Errorf("--bus %q: a mem:// bus lives inside one process, so every bellwether process would be alone on a bus of its own and lead; use local:// for processes on this host, or a server bus (nats://, redis://, postgres://) across hosts", co.busName())
	}
	return nil
}

// busName names the bus for messages: every log line, error and output
// that shows the bus shows this, with the URL's secrets (a password, a
// token, password= in the query or a DSN) hidden.
func (co *common) busName() string {
	return redact.String(co.busURL())
}

// busURL is the bus URL itself, secrets and all, for the job's
// environment only.
func (co *common) busURL() string {
	if co.bus == "" {
		return "local://"
	}
	return co.bus
}

// newFlagSet returns a flag set that reports errors to the caller only.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlagsOnly is parse for a subcommand that takes flags only: a
// positional argument is a usage error.
func (c *cli) parseFlagsOnly(cmd *command, fs *flag.FlagSet, args []string) (code int, done bool) {
	if code, done := c.parse(cmd, fs, args); done {
		return code, true
	}
	if fs.NArg() > 0 {
		return c.fail(cmd.name, exitUsage, fmt.Errorf("unexpected argument %q; %s takes flags only", fs.Arg(0), cmd.name)), true
	}
	return 0, false
}

// parse sets fs's flags from the environment, then from args. It returns
// done when the caller should return code at once: after --help (0) or an
// error (2, one line on stderr).
func (c *cli) parse(cmd *command, fs *flag.FlagSet, args []string) (code int, done bool) {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		key := envName(f.Name)
		v := c.getenv(key)
		if v == "" || envErr != nil {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			envErr = fmt.Errorf("%s=%q: %v", key, v, err)
		}
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.usage(cmd, fs, c.stdout)
			return exitOK, true
		}
		return c.fail(cmd.name, exitUsage, fmt.Errorf("%s; see bellwether %s --help", flagError(err), cmd.name)), true
	}
	if envErr != nil {
		return c.fail(cmd.name, exitUsage, envErr), true
	}
	return 0, false
}

// flagError rewrites the flag package's messages to use "--".
func flagError(err error) string {
	msg := err.Error()
	msg = strings.Replace(msg, "flag: help requested", "help requested", 1)
	msg = strings.Replace(msg, "for flag -", "for flag --", 1)
	if rest, ok := strings.CutPrefix(msg, "invalid boolean value "); ok {
		msg = "invalid value " + strings.Replace(rest, " for -", " for flag --", 1)
	}
	msg = strings.Replace(msg, "not defined: -", "not defined: --", 1)
	msg = strings.Replace(msg, "needs an argument: -", "needs an argument: --", 1)
	return msg
}

// usage prints cmd's help: synopsis, description, flags with their
// environment variables, and examples.
func (c *cli) usage(cmd *command, fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "Usage:\n  bellwether %s %s\n\n%s\n", cmd.name, cmd.synopsis, strings.TrimSpace(cmd.about))
	var b strings.Builder
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintf(&b, "\nFlags (each also read from the environment variable shown; flags win):\n")
		fs.VisitAll(func(f *flag.Flag) {
			typ, text := flag.UnquoteUsage(f)
			if _, ok := f.Value.(durationFlag); ok {
				typ = "DURATION"
			}
			line := "  --" + f.Name
			if typ != "" {
				line += " " + typ
			}
			fmt.Fprintf(&b, "%s\n", line)
			for _, l := range strings.Split(text, "\n") {
				fmt.Fprintf(&b, "        %s\n", l)
			}
			def := f.DefValue
			extra := "$" + envName(f.Name)
			if def != "" && def != "0" && def != "0s" && def != "false" {
				extra = "default " + def + "; " + extra
			}
			fmt.Fprintf(&b, "        (%s)\n", extra)
		})
	}
	fmt.Fprint(w, b.String())
	fmt.Fprintf(w, "\nExamples:\n%s\n", strings.TrimRight(cmd.examples, "\n"))
}
