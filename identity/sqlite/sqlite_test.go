package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
	"github.com/gatehousehq/gatehouse/identity/storetest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) identity.Store {
		return open(t, filepath.Join(t.TempDir(), "gatehouse.db"))
	})
}

func TestFileIsPrivateAndInWALMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	path := filepath.Join(dir, "gatehouse.db")
	s := open(t, path)
	defer s.Close()
	// A write makes SQLite create the -wal file.
	if err := s.PutOrganization(t.Context(), identity.Organization{ID: "acme"}); err != nil {
		t.Fatal(err)
	}

	for name, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600, path + "-wal": 0o600} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (os.ModeDir | os.ModePerm); got != want {
			t.Errorf("%s has mode %v, want %v", filepath.Base(name), got, want)
		}
	}

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

func TestOpenTightensAnExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	open(t, path).Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode %v, want 0600", got)
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s := open(t, path)
	u := &identity.User{Username: "alice", Groups: []string{"admin"}}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateSigningKey(t.Context(), identity.SigningKey{ID: "k1", JWK: []byte(`{}`)}, u.UpdatedAt); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// Opening again finds the data and applies no migration twice.
	s = open(t, path)
	defer s.Close()
	got, err := s.UserByUsername(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID || len(got.Groups) != 1 || got.Groups[0] != "admin" {
		t.Errorf("after reopen: %+v, want %+v", got, u)
	}
	keys, err := s.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].ID != "k1" {
		t.Errorf("after reopen: keys %v", keys)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := sqlite.Open(t.Context(), ""); err == nil {
		t.Error("Open(\"\") succeeded")
	}
	// A directory where the file should be.
	if _, err := sqlite.Open(t.Context(), t.TempDir()); err == nil {
		t.Error("Open(a directory) succeeded")
	}
}

// TestOddPath opens a file whose path needs escaping in SQLite's URI form.
func TestOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "my data?#%20&x=1", "gatehouse.db")
	s := open(t, path)
	defer s.Close()
	if err := s.PutOrganization(t.Context(), identity.Organization{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at the given path: %v", err)
	}
}
