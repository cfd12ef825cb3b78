package main

// These tests need PostgreSQL: the shared test server on loopback (or
// BELLWETHER_TEST_POSTGRES). Without one they skip, saying so, except
// under CI=true, where they fail. The election runs in real time, with
// the example's short timings; each wait is bounded by the test's ctx.

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bellwether-go/bellwether/internal/testenv"
	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tableExists reports whether the table name exists in the database.
func tableExists(t *testing.T, dsn, name string) bool {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(t.Context(), `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	return exists
}

// TestFencedWrite checks the fenced update alone: a write with an epoch
// below the fence changes nothing; one at or above it is accepted and
// raises the fence.
func TestFencedWrite(t *testing.T) {
	dsn := testenv.PostgresURL(t).String()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	tbl, err := createTable(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	dropped := false
	defer func() {
		if !dropped {
			tbl.drop(context.Background())
		}
	}()
	s, err := tbl.connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close(context.Background())
	for _, tt := range []struct {
		epoch uint64
		value string
		want  bool
	}{
		{5, "first", true},
		{7, "newer leader", true},
		{6, "stale leader", false},
		{0, "no epoch (a reference client)", false},
		{7, "newer leader again", true}, // one leadership writes many times
		{1<<53 - 1, "largest epoch", true},
		{7, "stale again", false},
	} {
		got, err := s.write(ctx, tt.epoch, tt.value)
		if err != nil {
			t.Fatalf("write(%d, %q): %v", tt.epoch, tt.value, err)
		}
		if got != tt.want {
			t.Errorf("write(%d, %q) accepted %v, want %v", tt.epoch, tt.value, got, tt.want)
		}
	}
	fence, value, err := tbl.row(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fence != 1<<53-1 || value != "largest epoch" {
		t.Errorf("row: fence %d, value %q; want %d, %q", fence, value, uint64(1<<53-1), "largest epoch")
	}
	if _, err := s.write(ctx, 1<<63, "too large"); err == nil {
		t.Error("an epoch above MaxInt64 was written")
	}
	if err := tbl.drop(ctx); err != nil {
		t.Fatal(err)
	}
	dropped = true
	if tableExists(t, dsn, tbl.name) {
		t.Errorf("table %s still exists after drop", tbl.name)
	}
}

// TestFencing runs the example: two leaders during a partition, the stale
// one's write refused, the survivor's accepted with an epoch above both.
func TestFencing(t *testing.T) {
	dsn := testenv.PostgresURL(t).String()
	// Bound: a's election (the lease's length plus an election, about
	// 1.05s), b's after the split (heartbeat timeout plus an election,
	// about 1.1s), the heal (a heartbeat interval), and the writes.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	rep, err := run(ctx, &out, dsn)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Writes) != 4 {
		t.Fatalf("%d writes, want 4: %+v", len(rep.Writes), rep.Writes)
	}
	before, bSplit, aSplit, after := rep.Writes[0], rep.Writes[1], rep.Writes[2], rep.Writes[3]
	check := func(w write, member string, accepted bool) {
		t.Helper()
		if w.Member != member || w.Accepted != accepted {
			t.Errorf("write %q by %s: accepted %v; want by %s, accepted %v", w.Value, w.Member, w.Accepted, member, accepted)
		}
		if w.Epoch == 0 || w.Epoch >= 1<<53 {
			t.Errorf("write %q: epoch %d, want in [1, 2^53)", w.Value, w.Epoch)
		}
	}
	check(before, "a", true)
	check(bSplit, "b", true)
	check(aSplit, "a", false) // the stale leader's write is refused
	check(after, "a", true)
	if aSplit.Epoch != before.Epoch {
		t.Errorf("a's epoch changed during the split without meeting b: %d, then %d", before.Epoch, aSplit.Epoch)
	}
	if bSplit.Epoch <= before.Epoch {
		t.Errorf("b's epoch %d is not above a's %d, which it had heard", bSplit.Epoch, before.Epoch)
	}
	if after.Epoch <= bSplit.Epoch || after.Epoch <= aSplit.Epoch {
		t.Errorf("the survivor's epoch %d is not above both sides' (%d, %d)", after.Epoch, aSplit.Epoch, bSplit.Epoch)
	}
	if rep.Fence != after.Epoch || rep.Value != after.Value {
		t.Errorf("row: fence %d, value %q; want the survivor's write, %d and %q", rep.Fence, rep.Value, after.Epoch, after.Value)
	}
	for _, want := range []string{"REFUSED, 0 rows updated", "dropped table " + rep.Table} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if tableExists(t, dsn, rep.Table) {
		t.Errorf("table %s left behind", rep.Table)
	}
}
