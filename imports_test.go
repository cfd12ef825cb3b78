package bellwether_test

import (
	"go/build"
	"strings"
	"testing"
)

const modulePath = "github.com/bellwether-go/bellwether"

// The root package is the domain: it imports the standard library only,
// directly or through the module's own packages (internal/wire,
// metrics), so that a program using one transport pulls in no other
// bus's SDK.
func TestRootImportsStandardLibraryOnly(t *testing.T) {
	seen := map[string]bool{}
	var check func(dir, name string)
	check = func(dir, name string) {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pkg.Imports {
			if rel, ok := strings.CutPrefix(imp, modulePath+"/"); ok {
				if !seen[imp] {
					seen[imp] = true
					check(rel, imp)
				}
				continue
			}
			if first := strings.Split(imp, "/")[0]; strings.Contains(first, ".") {
				t.Errorf("%s imports %s; the root package must use the standard library only", name, imp)
			}
		}
	}
	check(".", "root package")
}
