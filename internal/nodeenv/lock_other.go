//go:build !unix

package nodeenv

// lockFile does not lock where flock is missing: concurrent first runs of
// the test may then both run npm ci.
func lockFile(path string) (func(), error) { return func() {}, nil }
