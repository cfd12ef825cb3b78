package udp

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
)

// Multicast from a test must never leave the machine, so the tests that
// open sockets run only inside a network namespace of their own, whose
// only interface is lo: TestMain runs the test binary again under
// 'unshare -n' (as root), marked by envNetns, and brings lo up there with
// a multicast route. Where that cannot be done, those tests skip (and
// fail when CI=true); the others run as usual.
const envNetns = "BELLWETHER_UDP_TEST_NETNS"

// noNetns says why the tests are not in their namespace, or is "".
var noNetns string

func TestMain(m *testing.M) {
	if os.Getenv(envNetns) == "1" {
		if err := setUpNetns(); err != nil {
			fmt.Fprintf(os.Stderr, "udp tests: %v\n", err)
			os.Exit(1)
		}
		os.Exit(m.Run())
	}
	noNetns = netnsUnavailable()
	if noNetns != "" {
		os.Exit(m.Run())
	}
	args := append([]string{"-n", "--", os.Args[0]}, os.Args[1:]...)
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), envNetns+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		os.Exit(0)
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		os.Exit(exit.ExitCode())
	default:
		fmt.Fprintf(os.Stderr, "udp tests: running in a network namespace: %v\n", err)
		os.Exit(1)
	}
}

// netnsUnavailable says why the tests cannot run in a namespace of their
// own, or returns "".
func netnsUnavailable() string {
	if os.Geteuid() != 0 {
		return "not root, so no network namespace of its own"
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " not found, so no network namespace of its own"
		}
	}
	if out, err := exec.Command("unshare", "-n", "true").CombinedOutput(); err != nil {
		return fmt.Sprintf("unshare -n fails (%v: %s)", err, out)
	}
	return ""
}

// setUpNetns checks that this is a fresh namespace, with lo alone, and
// brings lo up with a route for multicast.
func setUpNetns() error {
	if err := onlyLoopback(); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"route", "add", "224.0.0.0/4", "dev", "lo"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %v: %v: %s", args, err, out)
		}
	}
	return nil
}

func onlyLoopback() error {
	ifaces, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, ifi := range ifaces {
		if ifi.Name != "lo" {
			return fmt.Errorf("refusing to send multicast: interface %s is here besides lo, so this is not a network namespace of the tests' own", ifi.Name)
		}
	}
	return nil
}

// requireNetns skips (or, in CI, fails) a test that sends multicast
// unless it runs in the tests' own namespace, with lo alone.
func requireNetns(t *testing.T) {
	t.Helper()
	if os.Getenv(envNetns) != "1" {
		msg := "multicast tests need their own network namespace: " + noNetns
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if err := onlyLoopback(); err != nil {
		t.Fatal(err)
	}
}
