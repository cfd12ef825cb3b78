package bellwether_test

import (
	"go/build"
	"strings"
	"testing"
)

// The root package is the domain: it imports the standard library only, so
// that a program using one transport pulls in no other bus's SDK.
func TestRootImportsStandardLibraryOnly(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		first := strings.Split(imp, "/")[0]
		if strings.Contains(first, ".") {
			t.Errorf("root package imports %s; it must use the standard library only", imp)
		}
	}
}
