package demo

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/postgres"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
	"github.com/gatehousehq/gatehouse/internal/foldertest"
	"github.com/gatehousehq/gatehouse/internal/pgtest"
)

// realStore makes a store in dir the way an operator's is made: through
// the identity/sqlite store, with a user and the client cli.
func realStore(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hash, err := identity.HashPasswordWith("an operator's password", identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, &identity.User{Username: "alice", Email: "alice@real.example", PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutClient(ctx, &identity.Client{ID: "cli", SecretHash: hash, Grants: []string{identity.GrantPassword}}); err != nil {
		t.Fatal(err)
	}
}

// The demo refuses, before writing anything, every data folder it did not
// make and that is not new or empty.
func TestStartRefusesForeignFolders(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		make  func(t *testing.T, dir string) string // returns the --data folder
		wants []string
	}{
		{"a real store", func(t *testing.T, dir string) string {
			realStore(t, dir)
			return dir
		}, []string{"holds a gatehouse store (gatehouse.db) that the demo did not create", "run the demo without --data (it uses ./gatehouse-demo), or give --data a new or empty folder"}},
		{"a real store reseeded by an older demo", func(t *testing.T, dir string) string {
			realStore(t, dir)
			if err := os.MkdirAll(filepath.Join(dir, "demo"), 0o700); err != nil {
				t.Fatal(err)
			}
			return dir
		}, []string{"holds a gatehouse store", "has no .gatehouse-demo file"}},
		{"other files", func(t *testing.T, dir string) string {
			if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600); err != nil {
				t.Fatal(err)
			}
			return dir
		}, []string{"is not empty (it holds notes.txt)", "was not made by the demo", "give --data a new or empty folder"}},
		{"a file", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "file")
			if err := os.WriteFile(p, []byte("mine"), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, []string{"is a file, not a folder"}},
		{"a marker that is not the demo's", func(t *testing.T, dir string) string {
			if err := os.WriteFile(filepath.Join(dir, MarkerFile), []byte("something else\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return dir
		}, []string{`does not start with "gatehouse-demo 1"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			data := tt.make(t, dir)
			before := foldertest.Snapshot(t, dir)
			_, err := Start(t.Context(), Config{Data: data})
			if !errors.Is(err, ErrNotDemoData) {
				t.Fatalf("Start: %v, want ErrNotDemoData", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			foldertest.Unchanged(t, dir, before)
		})
	}
}

// A new folder gets the marker; the next start accepts the folder it
// marked, and IsDemoFolder recognizes it.
func TestStartMarksItsFolder(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "new", "gatehouse-demo")
	env := startDemo(t, Config{Data: data})
	b, err := os.ReadFile(filepath.Join(data, MarkerFile))
	if err != nil || !strings.HasPrefix(string(b), "gatehouse-demo 1\n") {
		t.Fatalf("marker: %q %v", b, err)
	}
	if ok, err := IsDemoFolder(data); !ok || err != nil {
		t.Fatalf("IsDemoFolder = %v %v, want true", ok, err)
	}
	env.Close()
	startDemo(t, Config{Data: data})
	if ok, err := IsDemoFolder(t.TempDir()); ok || err != nil {
		t.Fatalf("IsDemoFolder(empty) = %v %v, want false", ok, err)
	}
}

// A refused password and a port in use write nothing either.
func TestStartWritesNothingWhenRefused(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	_, err := Start(t.Context(), Config{Data: data, Password: "Password1"})
	if !errors.Is(err, identity.ErrPasswordCommon) {
		t.Fatalf("Start with a common password: %v, want ErrPasswordCommon", err)
	}
	if _, err := Start(t.Context(), Config{Data: data, Password: "short"}); !errors.Is(err, identity.ErrPasswordTooShort) {
		t.Fatalf("Start with a short password: %v, want ErrPasswordTooShort", err)
	}
	if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused start created %s", data)
	}
}

// tables lists the tables, views and sequences of the schema of url.
func tables(t *testing.T, url string) []string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// With --postgres the demo refuses a schema that holds a real store or
// anything else, before writing anything into it or into the data folder.
func TestStartRefusesForeignDatabases(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		make  func(t *testing.T, url string)
		wants []string
	}{
		{"a real store", func(t *testing.T, url string) {
			st, err := postgres.Open(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.CreateUser(t.Context(), &identity.User{Username: "alice", Email: "alice@real.example", PasswordHash: "x"}); err != nil {
				t.Fatal(err)
			}
		}, []string{"holds a gatehouse store that the demo did not create (it has no gatehouse_demo table)", "give --postgres an empty database"}},
		{"another table", func(t *testing.T, url string) {
			conn, err := pgx.Connect(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			if _, err := conn.Exec(t.Context(), "CREATE TABLE invoices (id int)"); err != nil {
				t.Fatal(err)
			}
		}, []string{"is not empty (it holds 1 tables, views or sequences, such as invoices)", "was not made by the demo"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url := pgtest.SchemaURL(t)
			tt.make(t, url)
			before := tables(t, url)
			data := filepath.Join(t.TempDir(), "data")
			_, err := Start(t.Context(), Config{Data: data, PostgresURL: url})
			if !errors.Is(err, ErrNotDemoData) {
				t.Fatalf("Start: %v, want ErrNotDemoData", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if after := tables(t, url); !slices.Equal(before, after) {
				t.Errorf("the refused schema changed: %v → %v", before, after)
			}
			if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a refused start created %s", data)
			}
		})
	}
}

// An empty schema gets the marker table; the next start, with another data
// folder, accepts it, and IsDemoDatabase recognizes it.
func TestStartMarksItsDatabase(t *testing.T) {
	t.Parallel()
	url := pgtest.SchemaURL(t)
	if ok, err := IsDemoDatabase(t.Context(), url); ok || err != nil {
		t.Fatalf("IsDemoDatabase(empty) = %v %v, want false", ok, err)
	}
	env := startDemo(t, Config{PostgresURL: url})
	if !slices.Contains(tables(t, url), MarkerTable) {
		t.Fatalf("no %s table in %v", MarkerTable, tables(t, url))
	}
	env.Close()
	startDemo(t, Config{PostgresURL: url})
	if ok, err := IsDemoDatabase(t.Context(), url); !ok || err != nil {
		t.Fatalf("IsDemoDatabase = %v %v, want true", ok, err)
	}
}
