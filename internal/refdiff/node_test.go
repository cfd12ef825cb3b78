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

// runReference runs every schedule through harness.js in one node process
// and calls f with each schedule's result, in order, as node writes them:
// the Go side works on one schedule while node runs the next ones.
func runReference(t testing.TB, scheds []*schedule, f func(i int, r *result)) {
	t.Helper()
	node, dir := nodeenv.Require(t, ".", 16, nodeenv.Packages{"trimerge-sync": referenceVersion}, fixHint)
	in := filepath.Join(t.TempDir(), "schedules.jsonl")
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
	cmd := exec.Command(node, filepath.Join(dir, "harness.js"), in, "-")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("harness.js: %v", err)
	}
	// Whatever happens, node is not left behind.
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	rd := bufio.NewReaderSize(out, 1<<20)
	for i := range scheds {
		line, err := rd.ReadBytes('\n')
		if err != nil && !(err == io.EOF && len(line) > 0) {
			io.Copy(io.Discard, rd)
			werr := cmd.Wait()
			t.Fatalf("harness.js wrote %d results for %d schedules: %v (exit: %v)\n%s", i, len(scheds), err, werr, stderr.Bytes())
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
	io.Copy(io.Discard, rd)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("harness.js: %v\n%s", err, stderr.Bytes())
	}
}
