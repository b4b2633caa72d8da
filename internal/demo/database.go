package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// With --postgres the demo's store is a PostgreSQL schema (the first of the
// URL's search_path, else the user's default, usually public). Like a data
// folder, the demo uses it only when it is empty (then it creates the
// table MarkerTable, one row with the marker's version, before the store's
// own tables) or already holds MarkerTable. A schema with a gatehouse
// store that has no MarkerTable, or with any other table, view or
// sequence, is refused before anything is written; 'gatehouse serve'
// refuses a schema with MarkerTable ([IsDemoDatabase]).

// MarkerTable is the table that marks a PostgreSQL schema the demo created.
const MarkerTable = "gatehouse_demo"

// pgCheckTimeout bounds the marker's check and creation.
const pgCheckTimeout = 15 * time.Second

// useInsteadPG is what every refusal of a database suggests.
const useInsteadPG = "give --postgres an empty database, or an empty schema of one (create it with CREATE SCHEMA gatehouse_demo and add ?search_path=gatehouse_demo to the URL)"

// dbClaim is the outcome of checking the database: create says that the
// schema is empty and needs the marker.
type dbClaim struct {
	url    string
	create bool
}

// schemaState is what a schema holds, as far as the demo cares.
type schemaState struct {
	schema  string // "" when the search_path names no existing schema
	marked  bool   // MarkerTable is there
	store   bool   // a gatehouse store is there (its migrations table)
	objects int    // tables, views and sequences
	example string // the name of one of them
}

// inspect reads what the current schema of conn holds.
func inspect(ctx context.Context, conn *pgx.Conn) (schemaState, error) {
	var s schemaState
	var schema *string
	err := conn.QueryRow(ctx, `
SELECT current_schema(),
  EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = current_schema() AND c.relname = $1 AND c.relkind IN ('r', 'p')),
  EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = current_schema() AND c.relname = 'gatehouse_schema_version'),
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')),
  COALESCE((SELECT min(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')), '')`,
		MarkerTable).Scan(&schema, &s.marked, &s.store, &s.objects, &s.example)
	if schema != nil {
		s.schema = *schema
	}
	return s, err
}

// connect opens one connection to url for the marker's check.
func connect(ctx context.Context, url string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("demo: --postgres: cannot connect: %w", err)
	}
	return conn, nil
}

// checkDatabase decides, without writing anything, whether the demo may
// use the schema of url: empty, or marked with MarkerTable. Anything else
// is an error wrapping ErrNotDemoData.
func checkDatabase(ctx context.Context, url string) (*dbClaim, error) {
	ctx, cancel := context.WithTimeout(ctx, pgCheckTimeout)
	defer cancel()
	conn, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	s, err := inspect(ctx, conn)
	switch {
	case err != nil:
		return nil, fmt.Errorf("demo: --postgres: cannot read the schema: %w", err)
	case s.schema == "":
		return nil, &refusal{"demo: the search_path of --postgres names no existing schema: create the schema (CREATE SCHEMA name), or " + useInsteadPG}
	case s.marked:
		return &dbClaim{url: url}, nil
	case s.store:
		return nil, &refusal{fmt.Sprintf("demo: schema %q of --postgres holds a gatehouse store that the demo did not create (it has no %s table); "+
			"the demo never writes into such a store, whose users and clients it would overwrite: %s", s.schema, MarkerTable, useInsteadPG)}
	case s.objects > 0:
		return nil, &refusal{fmt.Sprintf("demo: schema %q of --postgres is not empty (it holds %d tables, views or sequences, such as %s) and was not made by the demo (it has no %s table); "+
			"the demo writes only into its own schemas: %s", s.schema, s.objects, s.example, MarkerTable, useInsteadPG)}
	}
	return &dbClaim{url: url, create: true}, nil
}

// claim creates MarkerTable in an empty schema.
func (c *dbClaim) claim(ctx context.Context) error {
	if !c.create {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, pgCheckTimeout)
	defer cancel()
	conn, err := connect(ctx, c.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		table := pgx.Identifier{MarkerTable}.Sanitize()
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (version text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO `+table+` (version) VALUES ($1)`, markerVersion)
		return err
	})
	if err != nil {
		return fmt.Errorf("demo: --postgres: cannot create the %s table: %w", MarkerTable, err)
	}
	return nil
}

// IsDemoDatabase reports whether the schema of url (the first of its
// search_path) holds MarkerTable: a store that the demo created.
func IsDemoDatabase(ctx context.Context, url string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, pgCheckTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return false, fmt.Errorf("demo: cannot connect: %w", err)
	}
	defer conn.Close(context.Background())
	s, err := inspect(ctx, conn)
	if err != nil {
		return false, fmt.Errorf("demo: cannot read the schema: %w", err)
	}
	return s.marked, nil
}
