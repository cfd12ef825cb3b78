package mixedtest

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

// pinned are the npm packages member.js needs, at the versions package.json
// pins.
var pinned = map[string]string{"trimerge-sync": "0.20.0", "nats": "2.29.3"}

const fixHint = "install Node.js >= 18 and npm (apt-get install nodejs npm), then run `npm ci` in internal/mixedtest"

var setup struct {
	once sync.Once
	node string
	dir  string
	err  error
}

// nodeSetup returns the node binary and this directory, installing the
// npm packages into node_modules when they are missing. If that is
// impossible the test is skipped, or fails when CI=true.
func nodeSetup(t testing.TB) (node, dir string) {
	t.Helper()
	setup.once.Do(func() { setup.node, setup.dir, setup.err = install() })
	if setup.err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("mixedtest: Node.js members unavailable: %v (CI=true: failing rather than skipping)", setup.err)
		}
		t.Skipf("mixedtest: Node.js members unavailable (%v); to run this test, %s", setup.err, fixHint)
	}
	return setup.node, setup.dir
}

func install() (node, dir string, err error) {
	dir, err = filepath.Abs(".")
	if err != nil {
		return "", "", err
	}
	if node, err = exec.LookPath("node"); err != nil {
		return "", "", errors.New("node not found")
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return "", "", fmt.Errorf("node --version: %v", err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	if major, _ := strconv.Atoi(strings.Split(v, ".")[0]); major < 18 {
		return "", "", fmt.Errorf("node %s is too old", v)
	}
	unlock, err := lockFile(filepath.Join(dir, ".install.lock"))
	if err != nil {
		return "", "", fmt.Errorf("lock: %v", err)
	}
	defer unlock()
	if installed(dir) == nil {
		return node, dir, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", "", fmt.Errorf("%v and npm is not found", installed(dir))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("npm ci failed: %v: %s", err, bytes.TrimSpace(out))
	}
	if err := installed(dir); err != nil {
		return "", "", fmt.Errorf("after npm ci: %v", err)
	}
	return node, dir, nil
}

// installed reports which pinned package is missing from dir/node_modules.
func installed(dir string) error {
	for name, version := range pinned {
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
