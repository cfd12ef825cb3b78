package refdiff

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// referenceVersion is the trimerge-sync version pinned in package.json.
const referenceVersion = "0.20.0"

const fixHint = "install Node.js >= 16 and npm, then run `npm ci` in internal/refdiff"

var setup struct {
	once sync.Once
	node string
	dir  string
	err  error
}

// reference returns the node binary and the harness directory, installing
// trimerge-sync into internal/refdiff/node_modules when it is missing. If
// that is impossible the test is skipped, or fails when CI=true.
func reference(t testing.TB) (node, dir string) {
	t.Helper()
	setup.once.Do(func() { setup.node, setup.dir, setup.err = install() })
	if setup.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("refdiff: reference unavailable: %v", setup.err)
		}
		t.Skipf("refdiff: reference unavailable (%v); to run this test, %s", setup.err, fixHint)
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
	if major, _ := strconv.Atoi(strings.Split(v, ".")[0]); major < 16 {
		return "", "", fmt.Errorf("node %s is too old", v)
	}
	unlock, err := lockFile(filepath.Join(dir, ".install.lock"))
	if err != nil {
		return "", "", fmt.Errorf("lock: %v", err)
	}
	defer unlock()
	if installed(dir) {
		return node, dir, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", "", errors.New("trimerge-sync is not installed and npm is not found")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("npm ci failed: %v: %s", err, bytes.TrimSpace(out))
	}
	if !installed(dir) {
		return "", "", fmt.Errorf("npm ci did not install trimerge-sync %s", referenceVersion)
	}
	return node, dir, nil
}

// installed reports whether the pinned reference is in dir/node_modules.
func installed(dir string) bool {
	pkg := filepath.Join(dir, "node_modules", "trimerge-sync")
	b, err := os.ReadFile(filepath.Join(pkg, "package.json"))
	if err != nil {
		return false
	}
	var p struct{ Version string }
	if json.Unmarshal(b, &p) != nil || p.Version != referenceVersion {
		return false
	}
	_, err = os.Stat(filepath.Join(pkg, "dist", "index.js"))
	return err == nil
}

// runReference runs every schedule through harness.js in one node process
// and calls f with each schedule's result, in order.
func runReference(t testing.TB, scheds []*schedule, f func(i int, r *result)) {
	t.Helper()
	node, dir := reference(t)
	tmp := t.TempDir()
	in, outPath := filepath.Join(tmp, "schedules.jsonl"), filepath.Join(tmp, "traces.jsonl")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, s := range scheds {
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(dir, "harness.js"), in, outPath)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("harness.js: %v\n%s", err, out)
	}
	file, err := os.Open(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	rd := bufio.NewReaderSize(file, 1<<20)
	for i := range scheds {
		line, err := rd.ReadBytes('\n')
		if err != nil && !(err == io.EOF && len(line) > 0) {
			t.Fatalf("harness.js wrote %d results for %d schedules: %v", i, len(scheds), err)
		}
		var r result
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("harness.js result %d: %v", i, err)
		}
		if r.Seed != scheds[i].Seed {
			t.Fatalf("harness.js result %d is for seed %d, want %d", i, r.Seed, scheds[i].Seed)
		}
		f(i, &r)
	}
}
