//go:build unix

package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocsListEveryFlag: every flag that run, watch and status show in
// --help is in docs/cli.md, with its environment variable.
func TestDocsListEveryFlag(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	flagLine := regexp.MustCompile(`(?m)^  --([a-z-]+)`)
	for _, sub := range []string{"run", "watch", "status"} {
		tc := newCLI()
		if code := tc.run(sub, "--help"); code != 0 {
			t.Fatalf("%s --help: exit %d", sub, code)
		}
		flags := flagLine.FindAllStringSubmatch(tc.stdout.String(), -1)
		if len(flags) < 10 {
			t.Fatalf("%s --help shows %d flags:\n%s", sub, len(flags), tc.stdout)
		}
		for _, f := range flags {
			name := f[1]
			if !strings.Contains(string(doc), "`--"+name) {
				t.Errorf("docs/cli.md lacks %s's flag --%s", sub, name)
			}
			if !strings.Contains(string(doc), "`"+envName(name)+"`") {
				t.Errorf("docs/cli.md lacks %s's variable %s", sub, envName(name))
			}
		}
	}
}
