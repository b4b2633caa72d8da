package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/keys/keyseal"
)

//go:embed migrations/*.sql
var migrations embed.FS

// versionTable is goose's table of applied migrations.
const versionTable = "gatehouse_schema_version"

// readers is how many connections serve reads; writes go through one.
const readers = 4

// Store is the SQLite identity store. It is safe for concurrent use.
type Store struct {
	// w is the only writing connection: writers queue in database/sql
	// instead of failing with SQLITE_BUSY, and every transaction on it
	// begins IMMEDIATE, so read-modify-write paths hold the write lock from
	// their first read.
	w *sql.DB
	// r serves reads (query_only); in WAL mode they never wait for w.
	r *sql.DB

	// sealer seals the signing keys at rest (nil: in clear; keys.go), and
	// sealedAtOpen lists the keys Open found in clear and sealed.
	sealer       *keyseal.Sealer
	sealedAtOpen []string

	closeOnce sync.Once
	closeErr  error
}

var _ identity.Store = (*Store)(nil)
var _ identity.GrantPruner = (*Store)(nil)

// Open opens (creating when missing) the database file at path, applies the
// pending migrations and returns the store. The directory is created with
// mode 0700 when missing, and the file is made 0600: it holds password and
// secret hashes and the signing keys (sealed with [WithKeySealer]).
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt.apply(&o)
	}
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	if err := prepareFile(abs); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	// With WAL, synchronous=FULL syncs the log on every commit: an issued
	// refresh token or a revocation survives a power cut, not only a crash
	// of the process.
	w, err := openDB(ctx, abs, 1, "_txlock=immediate",
		"_pragma=journal_mode(WAL)", "_pragma=synchronous(FULL)")
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := openDB(ctx, abs, readers, "_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	s := &Store{w: w, r: r, sealer: o.sealer}
	if err := s.sealClearKeys(ctx); err != nil { // keys.go
		s.Close()
		return nil, err
	}
	return s, nil
}

// prepareFile creates the directory (0700) and the file (0600) before
// SQLite does, so that SQLite's own -wal and -shm files, which copy the
// database file's mode, are private too.
func prepareFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return f.Chmod(0o600)
	}
	return nil
}

// openDB opens a pool of at most conns connections to path with the DSN
// parameters params, and checks that it works.
func openDB(ctx context.Context, path string, conns int, params ...string) (*sql.DB, error) {
	q := "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"
	for _, p := range params {
		q += "&" + p
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	return db, nil
}

// migrate applies the embedded migrations that db has not seen yet.
func migrate(ctx context.Context, db *sql.DB) error {
	dir, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, dir,
		goose.WithTableName(versionTable),
		goose.WithDisableGlobalRegistry(true),
		goose.WithLogger(goose.NopLogger()),
	)
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	// p.Close would close db; the provider holds nothing else.
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// Close closes the database; calling it again does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = errors.Join(s.r.Close(), s.w.Close())
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("sqlite: close: %w", s.closeErr)
		}
	})
	return s.closeErr
}

// wrap adds the package and operation to err, mapping SQLite's errors to
// the identity sentinels: no rows is ErrNotFound, a unique or primary key
// violation ErrConflict.
func wrap(op string, err error) error {
	var se *msqlite.Error
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = identity.ErrNotFound
	case errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY):
		err = fmt.Errorf("%w (%v)", identity.ErrConflict, se)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// inTx runs f in a transaction of the writing connection (BEGIN
// IMMEDIATE), committing when f returns nil.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return tx.Commit()
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// ms is a time as stored: unix milliseconds, 0 for the zero time.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS is the time ms stored, in UTC.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// stamp is now as the store keeps it: UTC, on a millisecond.
func stamp(now time.Time) time.Time {
	if now.IsZero() {
		now = time.Now()
	}
	return now.UTC().Truncate(time.Millisecond)
}

// list is a string slice as stored: a JSON array, "[]" for nil.
func list(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	b, err := json.Marshal(v)
	if err != nil { // cannot happen for []string
		panic(err)
	}
	return string(b)
}

// listField decodes a stored JSON array into *dst (nil when empty).
type listField struct{ dst *[]string }

func (l listField) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	case nil:
		*l.dst = nil
		return nil
	default:
		return fmt.Errorf("list column holds %T", src)
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("list column: %w", err)
	}
	if len(out) == 0 {
		out = nil
	}
	*l.dst = out
	return nil
}

// timeField decodes stored unix milliseconds into *dst.
type timeField struct{ dst *time.Time }

func (f timeField) Scan(src any) error {
	v, ok := src.(int64)
	if !ok && src != nil {
		return fmt.Errorf("time column holds %T", src)
	}
	*f.dst = fromMS(v)
	return nil
}

// durationField decodes stored milliseconds into *dst.
type durationField struct{ dst *time.Duration }

func (f durationField) Scan(src any) error {
	v, ok := src.(int64)
	if !ok && src != nil {
		return fmt.Errorf("duration column holds %T", src)
	}
	*f.dst = time.Duration(v) * time.Millisecond
	return nil
}
