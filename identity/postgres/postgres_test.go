package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/postgres"
	"github.com/gatehousehq/gatehouse/identity/storetest"
	"github.com/gatehousehq/gatehouse/internal/pgtest"
)

// openIn opens a store whose tables live in schema.
func openIn(t *testing.T, serverURL, schema string) *postgres.Store {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	s, err := postgres.OpenConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStore(t *testing.T) {
	u := pgtest.URL(t)
	storetest.Run(t, func(t *testing.T) identity.Store {
		return openIn(t, u, pgtest.Schema(t))
	})
}

// TestOpenURL opens with the schema in the URL and checks that the tables
// land there, and that a second Open migrates nothing and sees the data.
func TestOpenURL(t *testing.T) {
	base := pgtest.URL(t)
	schema := pgtest.Schema(t)
	pu, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	q.Set("search_path", schema)
	pu.RawQuery = q.Encode()

	s, err := postgres.Open(t.Context(), pu.String())
	if err != nil {
		t.Fatal(err)
	}
	u := &identity.User{Username: "alice"}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	s.Close()

	conn, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	err = conn.QueryRow(t.Context(), fmt.Sprintf("SELECT count(*) FROM %s.users", pgx.Identifier{schema}.Sanitize())).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("users in schema %s: %d, %v; want 1", schema, n, err)
	}

	s, err = postgres.Open(t.Context(), pu.String())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.UserByUsername(t.Context(), "alice")
	if err != nil || got.ID != u.ID {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
}

// TestConcurrentOpen starts several instances on one empty schema at once:
// the migration lock makes them take turns, and all of them work.
func TestConcurrentOpen(t *testing.T) {
	u := pgtest.URL(t)
	schema := pgtest.Schema(t)
	const n = 3
	stores := make([]*postgres.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cfg, err := pgxpool.ParseConfig(u)
			if err != nil {
				errs[i] = err
				return
			}
			cfg.ConnConfig.RuntimeParams["search_path"] = schema
			stores[i], errs[i] = postgres.OpenConfig(t.Context(), cfg)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	for i, s := range stores {
		if err := s.PutOrganization(t.Context(), identity.Organization{ID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	orgs, err := stores[0].ListOrganizations(t.Context())
	if err != nil || len(orgs) != n {
		t.Fatalf("ListOrganizations = %v, %v; want %d", orgs, err, n)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := postgres.Open(t.Context(), "postgres://%zz"); err == nil {
		t.Error("Open accepted a malformed URL")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	// Nothing listens on port 1.
	if _, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2"); err == nil {
		t.Error("Open succeeded without a server")
	}
}
