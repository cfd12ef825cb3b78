package docexamples

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestProgramsCompile vets every whole Go program in the documentation.
func TestProgramsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the documentation's programs")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, filepath.Join(root, "README.md"))
	// Inside the module, so that the programs build against this tree;
	// the leading '_' keeps the directory out of ./... patterns.
	tmp, err := os.MkdirTemp(".", "_programs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	var pkgs []string
	origin := map[string]string{}
	for _, doc := range docs {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range goBlock.FindAllSubmatchIndex(b, -1) {
			src := b[m[2]:m[3]]
			if !bytes.HasPrefix(src, []byte("package main\n")) {
				continue
			}
			line := bytes.Count(b[:m[0]], []byte("\n")) + 1
			dir := filepath.Join(tmp, fmt.Sprintf("%s_%d", strings.TrimSuffix(filepath.Base(doc), ".md"), i))
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644); err != nil {
				t.Fatal(err)
			}
			pkg := "./" + filepath.ToSlash(dir)
			pkgs = append(pkgs, pkg)
			origin[pkg] = fmt.Sprintf("%s:%d", filepath.Base(doc), line)
		}
	}
	if len(pkgs) == 0 {
		t.Fatal("found no Go program in the documentation")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not in PATH: %v", err)
	}
	out, err := exec.Command(goTool, append([]string{"vet"}, pkgs...)...).CombinedOutput()
	if err != nil {
		msg := string(out)
		for pkg, where := range origin {
			msg = strings.ReplaceAll(msg, strings.TrimPrefix(pkg, "./"), where+" ("+strings.TrimPrefix(pkg, "./")+")")
		}
		t.Fatalf("go vet of the documentation's programs: %v\n%s", err, msg)
	}
	t.Logf("%d programs compile", len(pkgs))
}
