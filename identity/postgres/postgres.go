package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/keys/keyseal"
)

//go:embed migrations/*.sql
var migrations embed.FS

// versionTable is goose's table of applied migrations.
const versionTable = "gatehouse_schema_version"

// Store is the PostgreSQL identity store. It is safe for concurrent use,
// also by several processes sharing one database.
type Store struct {
	pool *pgxpool.Pool
	// sealer seals the signing keys at rest (nil: in clear; keys.go), and
	// sealedAtOpen lists the keys Open found in clear and sealed.
	sealer       *keyseal.Sealer
	sealedAtOpen []string
	closeOnce    sync.Once
}

var _ identity.Store = (*Store)(nil)
var _ identity.GrantPruner = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or key=value
// string, see pgxpool.ParseConfig), applies the pending migrations and
// returns the store. Tables live in the first schema of the search_path,
// which url may set (search_path=gatehouse).
// Signing keys are sealed at rest with [WithKeySealer].
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return OpenConfig(ctx, cfg, opts...)
}

// OpenConfig is Open with a parsed pool configuration, for TLS settings,
// pool sizes or runtime parameters that a URL does not carry.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt.apply(&o)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, sealer: o.sealer}
	if err := s.sealClearKeys(ctx); err != nil { // keys.go
		pool.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies the embedded migrations that the database has not seen
// yet, under a session advisory lock so that instances starting together
// take turns.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	dir, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, dir,
		goose.WithTableName(versionTable),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSessionLocker(locker),
		goose.WithLogger(goose.NopLogger()),
	)
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// Close closes the connection pool; calling it again does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(s.pool.Close)
	return nil
}

// wrap adds the package and operation to err, mapping PostgreSQL's errors
// to the identity sentinels: no rows is ErrNotFound, a unique violation
// ErrConflict, a lost or refused connection ErrUnavailable (see
// unavailable.go), which keeps the cause.
func wrap(op string, err error) error {
	var pe *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		err = identity.ErrNotFound
	case errors.As(err, &pe) && pe.Code == "23505": // unique_violation
		err = fmt.Errorf("%w (%s)", identity.ErrConflict, pe.ConstraintName)
	case unavailable(err):
		err = fmt.Errorf("%w: %w", identity.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// inTx runs f in a transaction, committing when f returns nil.
func (s *Store) inTx(ctx context.Context, f func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, f)
}

// ts is a time as stored: UTC on a millisecond, NULL for the zero time.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Millisecond)
}

// trunc is t for a comparison with stored times: UTC, on a millisecond.
func trunc(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// stamp is now as the store keeps it: UTC, on a millisecond.
func stamp(now time.Time) time.Time {
	if now.IsZero() {
		now = time.Now()
	}
	return now.UTC().Truncate(time.Millisecond)
}

// timeField scans a nullable timestamptz into *dst, in UTC.
type timeField struct{ dst *time.Time }

func (f timeField) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid {
		*f.dst = time.Time{}
		return nil
	}
	if v.InfinityModifier != pgtype.Finite {
		return errors.New("infinite timestamp")
	}
	*f.dst = v.Time.UTC()
	return nil
}

// arr is a string slice as stored: text[], '{}' for nil.
func arr(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// list is a scanned text[]: nil when empty.
func list(v []string) []string {
	if len(v) == 0 {
		return nil
	}
	return v
}

// collect scans every row with scan and closes rows.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// rowsAffected returns pgx.ErrNoRows when tag counts fewer than want rows.
func rowsAffected(tag pgconn.CommandTag, want int64) error {
	if tag.RowsAffected() < want {
		return pgx.ErrNoRows
	}
	return nil
}
