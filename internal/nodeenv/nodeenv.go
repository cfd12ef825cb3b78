// Package nodeenv provides the Node.js packages that tests running the
// reference implementation need: it finds node and installs a directory's
// pinned npm packages (npm ci, under a file lock so that test processes
// running in parallel install once).
package nodeenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Packages names the npm packages a directory's package.json pins, with
// their versions.
type Packages map[string]string

var (
	mu   sync.Mutex
	done = map[string]result{}
)

type result struct {
	node string
	err  error
}

// Require returns the node binary and dir made absolute, having made sure
// that dir/node_modules holds pkgs, installing them with npm ci when
// missing. When that is impossible the test is skipped with fix as the
// hint, or fails when CI=true. Each directory is set up once per test
// process.
func Require(t testing.TB, dir string, minMajor int, pkgs Packages, fix string) (node, abs string) {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	r, ok := done[abs]
	if !ok {
		r.node, r.err = Install(abs, minMajor, pkgs)
		done[abs] = r
	}
	mu.Unlock()
	if r.err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("Node.js packages unavailable in %s: %v (CI=true: failing rather than skipping)", dir, r.err)
		}
		t.Skipf("Node.js packages unavailable in %s (%v); to run this test, %s", dir, r.err, fix)
	}
	return r.node, abs
}

// Install finds node, at least version minMajor, and runs npm ci in dir
// unless dir/node_modules already holds pkgs.
func Install(dir string, minMajor int, pkgs Packages) (node string, err error) {
	if node, err = exec.LookPath("node"); err != nil {
		return "", errors.New("node not found")
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("node --version: %v", err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	if major, _ := strconv.Atoi(strings.Split(v, ".")[0]); major < minMajor {
		return "", fmt.Errorf("node %s is too old; %d or later is needed", v, minMajor)
	}
	unlock, err := lockFile(filepath.Join(dir, ".install.lock"))
	if err != nil {
		return "", fmt.Errorf("lock: %v", err)
	}
	defer unlock()
	if installed(dir, pkgs) == nil {
		return node, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("%v and npm is not found", installed(dir, pkgs))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci failed: %v: %s", err, bytes.TrimSpace(out))
	}
	if err := installed(dir, pkgs); err != nil {
		return "", fmt.Errorf("after npm ci: %v", err)
	}
	return node, nil
}

// installed reports which pinned package is missing from dir/node_modules.
func installed(dir string, pkgs Packages) error {
	for name, version := range pkgs {
		b, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
		if err != nil {
			return fmt.Errorf("%s is not installed", name)
		}
		var p struct{ Version string }
		if json.Unmarshal(b, &p) != nil || p.Version != version {
			return fmt.Errorf("%s is %q, want %s", name, p.Version, version)
		}
	}
	return nil
}
