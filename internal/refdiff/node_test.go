package refdiff

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/bellwether-go/bellwether/internal/nodeenv"
)

// referenceVersion is the trimerge-sync version pinned in package.json.
const referenceVersion = "0.20.0"

const fixHint = "install Node.js >= 16 and npm, then run `npm ci` in internal/refdiff"

// reference returns the node binary and the harness directory, installing
// trimerge-sync into internal/refdiff/node_modules when it is missing. If
// that is impossible the test is skipped, or fails when CI=true.
func reference(t testing.TB) (node, dir string) {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	return nodeenv.Require(t, dir, 16, nodeenv.Packages{"trimerge-sync": referenceVersion}, fixHint), dir
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
