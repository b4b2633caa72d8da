package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/postgres"
	"github.com/gatehousehq/gatehouse/internal/pgtest"
)

// Outages of a server of the test's own: sessions the server terminated
// (SQLSTATE 57P01), a stopped server and a server starting up again all
// come back as identity.ErrUnavailable, never as a plain error, and the
// store works again once the server does. Lookups of what does not exist
// stay ErrNotFound.
func TestOutagesAreUnavailable(t *testing.T) {
	pg := pgtest.NewServer(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(what string, mayWork bool) {
		t.Helper()
		_, err := s.ListSigningKeys(ctx)
		t.Logf("%s: %v", what, err)
		switch {
		case err == nil && mayWork:
		case err == nil:
			t.Fatalf("%s: the store answered", what)
		case !errors.Is(err, identity.ErrUnavailable):
			t.Fatalf("%s: %v, want identity.ErrUnavailable", what, err)
		}
	}
	if _, err := s.UserByID(ctx, "nobody"); !errors.Is(err, identity.ErrNotFound) || errors.Is(err, identity.ErrUnavailable) {
		t.Fatalf("an unknown user: %v", err)
	}

	// 57P01 on connections the pool still holds: the next statement on
	// one fails (or the pool notices first and reconnects).
	if _, err := s.ListSigningKeys(ctx); err != nil {
		t.Fatal(err)
	}
	pg.TerminateSessions(t)
	for range 3 {
		check("after pg_terminate_backend", true)
	}
	if _, err := s.ListSigningKeys(ctx); err != nil {
		t.Fatalf("the pool did not reconnect after pg_terminate_backend: %v", err)
	}

	pg.Stop(t)
	check("server stopped", false)
	check("server still stopped", false)

	pg.Start(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.ListSigningKeys(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, identity.ErrUnavailable) {
			t.Fatalf("while the server comes back: %v, want identity.ErrUnavailable", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store does not work again after the server restarted: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
