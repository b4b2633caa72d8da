package main

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehousehq/gatehouse/internal/demo"
	"github.com/gatehousehq/gatehouse/internal/foldertest"
	"github.com/gatehousehq/gatehouse/internal/pgtest"
)

// 'gatehouse demo --data DIR' refuses a folder it did not make, with one
// line that says what to do, and writes nothing into it.
func TestDemoRefusesForeignFolders(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		make  func(t *testing.T, data string)
		wants []string
	}{
		{"a store made by gatehouse user add", func(t *testing.T, data string) {
			mustGH(t, "", "user", "add", "alice", "--email", "alice@real.test", "--data", data)
			mustGH(t, "", "client", "add", "cli", "--grants", "password", "--data", data)
		}, []string{"gatehouse demo: DATA holds a gatehouse store (gatehouse.db) that the demo did not create (it has no .gatehouse-demo file)",
			"run the demo without --data (it uses ./gatehouse-demo), or give --data a new or empty folder"}},
		{"other files", func(t *testing.T, data string) {
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(data, "report.pdf"), []byte("mine"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"is not empty (it holds report.pdf) and was not made by the demo", "give --data a new or empty folder"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			data := filepath.Join(dir, "gatehouse-data")
			tt.make(t, data)
			before := foldertest.Snapshot(t, dir)
			r := gh(t, "", "demo", "--port-base", "0", "--data", data)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want 2; stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
			assertOneLine(t, r.stderr)
			for _, w := range tt.wants {
				if w = strings.ReplaceAll(w, "DATA", data); !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q lacks %q", r.stderr, w)
				}
			}
			foldertest.Unchanged(t, dir, before)
		})
	}
}

// 'gatehouse demo --password P' applies the password policy of every user
// password, with the message of 'gatehouse user add', before anything is
// written.
func TestDemoRefusesWeakPassword(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "demo")
	for pw, want := range map[string]string{
		"k7#Qz!p":   "gatehouse demo: --password: the password is shorter than 8 characters: choose a longer one",
		"iloveyou1": "gatehouse demo: --password: the password is one of the 10,000 most common passwords",
	} {
		r := gh(t, "", "demo", "--port-base", "0", "--data", data, "--password", pw)
		if r.code != exitUsage || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, pw) {
			t.Errorf("--password %s: exit %d, stderr %q; want 2 and %q", pw, r.code, r.stderr, want)
		}
	}
	if _, err := os.Stat(data); err == nil {
		t.Errorf("a refused demo created %s", data)
	}
}

// serveDemoConfig writes a gatehouse.yaml whose store is at data (a
// folder) or url (PostgreSQL).
func serveDemoConfig(t *testing.T, dir, store string) string {
	t.Helper()
	p := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(p, []byte("authserver:\n  issuer: http://127.0.0.1:9000\n  listen: 127.0.0.1:0\n  "+store+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// assertServeRefusesDemoStore runs 'gatehouse serve' on the demo folder
// data and checks that it refuses it and writes nothing; the admin
// commands work on it and say what it is.
func assertServeRefusesDemoStore(t *testing.T, data string) {
	t.Helper()
	before := foldertest.Snapshot(t, data)
	r := gh(t, "", "serve", "--config", serveDemoConfig(t, t.TempDir(), "data: "+data))
	if r.code != exitUsage {
		t.Fatalf("serve on a demo store: exit %d, want 2; stderr %q", r.code, r.stderr)
	}
	for _, w := range []string{"gatehouse serve: " + data + " is a demo store made by 'gatehouse demo' (it holds the .gatehouse-demo file)",
		"point authserver.data at another folder"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q lacks %q", r.stderr, w)
		}
	}
	if after := foldertest.Snapshot(t, data); !maps.Equal(before, after) {
		t.Errorf("serve changed the demo folder:\nbefore %v\nafter  %v", before, after)
	}
	r = gh(t, "", "user", "list", "--data", data)
	if r.code != exitOK || !strings.Contains(r.stdout, "alice") ||
		!strings.Contains(r.stderr, "gatehouse user list: note: "+filepath.Join(data, "gatehouse.db")+" is a demo store made by 'gatehouse demo'") {
		t.Errorf("user list on a demo store: exit %d, stdout %q, stderr %q; want 0, the demo users and a note", r.code, r.stdout, r.stderr)
	}
}

// 'gatehouse serve' refuses a PostgreSQL schema that holds the demo's
// marker table (made here by hand; demo's TestStartMarksItsDatabase shows
// that the demo makes it), and serves one without it.
func TestServeRefusesDemoDatabase(t *testing.T) {
	t.Parallel()
	url := pgtest.SchemaURL(t)
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), "CREATE TABLE "+demo.MarkerTable+" (version text)"); err != nil {
		t.Fatal(err)
	}
	r := gh(t, "", "serve", "--config", serveDemoConfig(t, t.TempDir(), "store: "+url))
	if r.code != exitUsage {
		t.Fatalf("serve on a demo database: exit %d, want 2; stderr %q", r.code, r.stderr)
	}
	assertOneLine(t, r.stderr)
	for _, w := range []string{"is a demo store made by 'gatehouse demo' (its schema holds the gatehouse_demo table)", "point authserver.store at another database or schema"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q lacks %q", r.stderr, w)
		}
	}
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()").Scan(&n); err != nil || n != 1 {
		t.Errorf("serve wrote into the refused schema: %d relations (%v), want only the marker", n, err)
	}
}

// A folder that a demo from before the marker seeded (demo/seeded, the
// incident of issue 12: a real store reseeded) is refused by serve with
// what to check and delete; the admin commands say so and work.
func TestServeRefusesStoreSeededByOlderDemo(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "gatehouse-data")
	mustGH(t, "", "user", "add", "alice", "--email", "alice@real.test", "--data", data)
	if err := os.MkdirAll(filepath.Join(data, "demo"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "demo", "seeded"), []byte("fingerprint"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := foldertest.Snapshot(t, data)
	r := gh(t, "", "serve", "--config", serveDemoConfig(t, t.TempDir(), "data: "+data))
	if r.code != exitUsage {
		t.Fatalf("exit %d, want 2; stderr %q", r.code, r.stderr)
	}
	assertOneLine(t, r.stderr)
	for _, w := range []string{"was seeded by a 'gatehouse demo' from before demo folders were marked (it holds demo/seeded)",
		"check those users and clients (gatehouse user list, gatehouse client list), then delete the folder " + filepath.Join(data, "demo") + " to serve it"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q lacks %q", r.stderr, w)
		}
	}
	if after := foldertest.Snapshot(t, data); !maps.Equal(before, after) {
		t.Errorf("serve changed the refused folder:\nbefore %v\nafter  %v", before, after)
	}
	r = gh(t, "", "user", "list", "--data", data)
	if r.code != exitOK || !strings.Contains(r.stderr, "was seeded by an older 'gatehouse demo'") {
		t.Errorf("user list: exit %d, stderr %q; want 0 and a note", r.code, r.stderr)
	}
}
