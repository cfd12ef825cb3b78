package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
)

// table is the example's table in PostgreSQL: one row, the resource the
// leaders write, with the highest fencing token it has accepted.
type table struct {
	name string // unquoted; sanitized where it is used
	conn *pgx.Conn
}

// createTable connects to dsn and creates a table of a name no other run
// uses, holding one row (id 1) whose fence is 0.
func createTable(ctx context.Context, dsn string) (*table, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	t := &table{name: "bellwether_fencing_" + hex.EncodeToString(suffix[:]), conn: conn}
	q := fmt.Sprintf(`CREATE TABLE %s (
		id    integer PRIMARY KEY,
		fence bigint  NOT NULL, -- the highest epoch a write came with
		value text    NOT NULL
	)`, t.ident())
	if _, err := conn.Exec(ctx, q); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("creating table %s: %w", t.name, err)
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (id, fence, value) VALUES (1, 0, '')`, t.ident())); err != nil {
		t.drop(ctx)
		return nil, fmt.Errorf("inserting the row: %w", err)
	}
	return t, nil
}

func (t *table) ident() string { return pgx.Identifier{t.name}.Sanitize() }

// row reads the row back.
func (t *table) row(ctx context.Context) (fence uint64, value string, err error) {
	var f int64
	err = t.conn.QueryRow(ctx, fmt.Sprintf(`SELECT fence, value FROM %s WHERE id = 1`, t.ident())).Scan(&f, &value)
	return uint64(f), value, err
}

// drop drops the table and closes the connection.
func (t *table) drop(ctx context.Context) error {
	_, err := t.conn.Exec(ctx, fmt.Sprintf(`DROP TABLE IF EXISTS %s`, t.ident()))
	return errors.Join(err, t.conn.Close(ctx))
}

// fencedStore is one member's connection to the table: what a leader's
// job writes through.
type fencedStore struct {
	conn  *pgx.Conn
	ident string
}

func (t *table) connect(ctx context.Context, dsn string) (*fencedStore, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	return &fencedStore{conn: conn, ident: t.ident()}, nil
}

func (s *fencedStore) close(ctx context.Context) error { return s.conn.Close(ctx) }

// write sets the row's value if epoch is at least the fence, the highest
// epoch the row has seen, and raises the fence to epoch. It reports
// whether the row accepted the write: false means a leader with a higher
// epoch has written, so this one is stale and must stop.
//
// The check and the write are one statement, so no other write can come
// between them. "<=" lets one leadership write many times with the same
// epoch.
func (s *fencedStore) write(ctx context.Context, epoch uint64, value string) (bool, error) {
	if epoch > math.MaxInt64 { // never: epochs are below 2^53
		return false, fmt.Errorf("epoch %d does not fit in a bigint", epoch)
	}
	tag, err := s.conn.Exec(ctx,
		fmt.Sprintf(`UPDATE %s SET fence = $1, value = $2 WHERE id = 1 AND fence <= $1`, s.ident),
		int64(epoch), value)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}
