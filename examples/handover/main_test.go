package main

import (
	"bytes"
	"strings"
	"testing"
	"testing/synctest"
)

func TestHandover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		if err := run(&out); err != nil {
			t.Fatal(err)
		}
		want := []string{
			" 0.000s  carol joins and asks for an election",
			" 0.000s  alice joins and asks for an election",
			" 0.000s  bob joins and asks for an election",
			" 0.300s  alice is now the leader",
			" 1.000s  everyone agrees: the leader is alice (the smallest id)",
			" 1.000s  alice shuts down cleanly and withdraws",
			" 1.300s  bob is now the leader",
			" 2.000s  the new leader is bob",
			" 2.000s  done",
		}
		if got := strings.Split(strings.TrimRight(out.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("output:\n%s\nwant:\n%s", out.String(), strings.Join(want, "\n"))
		}
	})
}
