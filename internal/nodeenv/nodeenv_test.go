package nodeenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInstalledChecksPinnedVersions(t *testing.T) {
	dir := t.TempDir()
	pkgs := Packages{"trimerge-sync": "0.20.0"}
	if err := installed(dir, pkgs); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Fatalf("empty dir: %v", err)
	}
	write := func(version string) {
		p := filepath.Join(dir, "node_modules", "trimerge-sync")
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "package.json"), []byte(`{"version":"`+version+`"}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("0.19.0")
	if err := installed(dir, pkgs); err == nil || !strings.Contains(err.Error(), `"0.19.0", want 0.20.0`) {
		t.Fatalf("wrong version: %v", err)
	}
	write("0.20.0")
	if err := installed(dir, pkgs); err != nil {
		t.Fatalf("pinned version: %v", err)
	}
}

func TestLockFileSerialises(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	unlock, err := lockFile(path)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	unlock2, err := lockFile(path) // free again
	if err != nil {
		t.Fatal(err)
	}
	unlock2()
}
