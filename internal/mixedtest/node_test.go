package mixedtest

import (
	"path/filepath"
	"testing"

	"github.com/bellwether-go/bellwether/internal/nodeenv"
)

// pinned are the npm packages member.js needs, at the versions package.json
// pins.
var pinned = nodeenv.Packages{"trimerge-sync": "0.20.0", "nats": "2.29.3"}

const fixHint = "install Node.js >= 18 and npm (apt-get install nodejs npm), then run `npm ci` in internal/mixedtest"

// nodeSetup returns the node binary and this directory, installing the
// npm packages into node_modules when they are missing. If that is
// impossible the test is skipped, or fails when CI=true.
func nodeSetup(t testing.TB) (node, dir string) {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	return nodeenv.Require(t, dir, 18, pinned, fixHint), dir
}
