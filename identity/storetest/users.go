package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

// A PHC string in the form of HashPassword's; stores keep it as opaque text.
const fakeHash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$c29tZWhhc2hzb21laGFzaHNvbWVoYXNoc29tZWhh"

func newUser(username string) *identity.User {
	return &identity.User{
		Username:     username,
		Email:        username + "@example.com",
		Name:         "User " + username,
		PasswordHash: fakeHash,
		Org:          "acme",
		Groups:       []string{"admin", "ops"},
		Roles:        []string{"reader", "writer"},
	}
}

func testUsers(t *testing.T, open opener) {
	t.Run("CreateUser sets ID and UpdatedAt", func(t *testing.T) {
		s := open(t)
		u := newUser("alice")
		before := time.Now()
		must(t, "CreateUser", s.CreateUser(t.Context(), u))
		after := time.Now()
		if u.ID == "" {
			t.Fatal("CreateUser left the ID empty")
		}
		within(t, "UpdatedAt", u.UpdatedAt, before, after)
		got, err := s.UserByID(t.Context(), u.ID)
		must(t, "UserByID", err)
		same(t, "UserByID", u, got)
		got, err = s.UserByUsername(t.Context(), "alice")
		must(t, "UserByUsername", err)
		same(t, "UserByUsername", u, got)
	})
	t.Run("CreateUser keeps a given ID", func(t *testing.T) {
		s := open(t)
		u := newUser("alice")
		u.ID = "user-1"
		must(t, "CreateUser", s.CreateUser(t.Context(), u))
		got, err := s.UserByID(t.Context(), "user-1")
		must(t, "UserByID", err)
		same(t, "UserByID", u, got)
	})
	t.Run("CreateUser refuses a taken username", func(t *testing.T) {
		s := open(t)
		first := newUser("alice")
		must(t, "CreateUser", s.CreateUser(t.Context(), first))
		second := newUser("alice")
		second.Email = "other@example.com"
		wantErr(t, "CreateUser again", s.CreateUser(t.Context(), second), identity.ErrConflict)
		got, err := s.UserByUsername(t.Context(), "alice")
		must(t, "UserByUsername", err)
		same(t, "UserByUsername", first, got)
	})
	t.Run("CreateUser refuses a taken ID", func(t *testing.T) {
		s := open(t)
		a := newUser("alice")
		must(t, "CreateUser", s.CreateUser(t.Context(), a))
		b := newUser("bob")
		b.ID = a.ID
		wantErr(t, "CreateUser with alice's ID", s.CreateUser(t.Context(), b), identity.ErrConflict)
		_, err := s.UserByUsername(t.Context(), "bob")
		wantErr(t, "UserByUsername(bob)", err, identity.ErrNotFound)
	})
	t.Run("CreateUser concurrently with one username", func(t *testing.T) {
		s := open(t)
		warmUp(t, s)
		errs := race(concurrency, func(int) error { return s.CreateUser(t.Context(), newUser("alice")) })
		oneWinner(t, "CreateUser", errs, identity.ErrConflict)
		users, err := s.ListUsers(t.Context())
		must(t, "ListUsers", err)
		if len(users) != 1 {
			t.Errorf("ListUsers returned %d users, want 1", len(users))
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		s := open(t)
		must(t, "CreateUser", s.CreateUser(t.Context(), newUser("alice")))
		u, err := s.UserByID(t.Context(), "nobody")
		wantErr(t, "UserByID", err, identity.ErrNotFound)
		if u != nil {
			t.Errorf("UserByID returned %+v with ErrNotFound", u)
		}
		_, err = s.UserByUsername(t.Context(), "nobody")
		wantErr(t, "UserByUsername", err, identity.ErrNotFound)
		_, err = s.SetUserDisabled(t.Context(), "nobody", true)
		wantErr(t, "SetUserDisabled", err, identity.ErrNotFound)
	})
	t.Run("PutUser creates", func(t *testing.T) {
		s := open(t)
		u := newUser("alice")
		before := time.Now()
		must(t, "PutUser", s.PutUser(t.Context(), u))
		within(t, "UpdatedAt", u.UpdatedAt, before, time.Now())
		if u.ID == "" {
			t.Fatal("PutUser left the ID empty")
		}
		got, err := s.UserByUsername(t.Context(), "alice")
		must(t, "UserByUsername", err)
		same(t, "UserByUsername", u, got)
	})
	t.Run("PutUser replaces and keeps the ID", func(t *testing.T) {
		s := open(t)
		orig := newUser("alice")
		must(t, "CreateUser", s.CreateUser(t.Context(), orig))
		for _, id := range []string{"", "some-other-id"} {
			repl := &identity.User{
				ID:           id,
				Username:     "alice",
				Email:        "alice@new.example",
				Name:         "Alice Liddell",
				PasswordHash: fakeHash + "x",
				Org:          "globex",
				Roles:        []string{"auditor"},
				Disabled:     true,
			}
			before := time.Now()
			must(t, "PutUser", s.PutUser(t.Context(), repl))
			within(t, "UpdatedAt", repl.UpdatedAt, before, time.Now())
			if repl.ID != orig.ID {
				t.Errorf("PutUser with ID %q set ID %q, want the existing %q", id, repl.ID, orig.ID)
			}
			got, err := s.UserByID(t.Context(), orig.ID)
			must(t, "UserByID", err)
			same(t, "UserByID", repl, got)
			if _, err := s.UserByID(t.Context(), "some-other-id"); err == nil {
				t.Error("PutUser stored a second user under the given ID")
			}
		}
		users, err := s.ListUsers(t.Context())
		must(t, "ListUsers", err)
		if len(users) != 1 {
			t.Errorf("ListUsers returned %d users, want 1", len(users))
		}
	})
	t.Run("slices round-trip", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			groups []string
		}{
			{"nil", nil},
			{"empty", []string{}},
			{"one", []string{"admin"}},
			{"awkward", []string{"a,b", `quo"te`, "ünïcödé", "[]", "{x}", "null", " spaced "}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := open(t)
				u := newUser("alice")
				u.Groups, u.Roles = tc.groups, tc.groups
				must(t, "CreateUser", s.CreateUser(t.Context(), u))
				got, err := s.UserByID(t.Context(), u.ID)
				must(t, "UserByID", err)
				same(t, "UserByID", u, got)
				users, err := s.ListUsers(t.Context())
				must(t, "ListUsers", err)
				if len(users) != 1 {
					t.Fatalf("ListUsers returned %d users, want 1", len(users))
				}
				same(t, "ListUsers", u, users[0])
			})
		}
	})
	t.Run("ListUsers sorted by username", func(t *testing.T) {
		s := open(t)
		users, err := s.ListUsers(t.Context())
		must(t, "ListUsers on an empty store", err)
		if len(users) != 0 {
			t.Fatalf("empty store lists %d users", len(users))
		}
		byName := map[string]*identity.User{}
		for _, name := range []string{"carol", "alice", "bob", "alice2", "a-team"} {
			u := newUser(name)
			must(t, "CreateUser", s.CreateUser(t.Context(), u))
			byName[name] = u
		}
		users, err = s.ListUsers(t.Context())
		must(t, "ListUsers", err)
		want := []string{"a-team", "alice", "alice2", "bob", "carol"}
		var got []string
		for _, u := range users {
			got = append(got, u.Username)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("ListUsers order %v, want %v", got, want)
		}
		for _, u := range users {
			same(t, "ListUsers "+u.Username, byName[u.Username], u)
		}
	})
	t.Run("SetUserDisabled", func(t *testing.T) {
		s := open(t)
		u := newUser("alice")
		must(t, "CreateUser", s.CreateUser(t.Context(), u))
		for _, disabled := range []bool{true, false} {
			before := time.Now()
			got, err := s.SetUserDisabled(t.Context(), "alice", disabled)
			must(t, "SetUserDisabled", err)
			within(t, "UpdatedAt", got.UpdatedAt, before, time.Now())
			u.Disabled, u.UpdatedAt = disabled, got.UpdatedAt
			same(t, "SetUserDisabled result", u, got)
			stored, err := s.UserByID(t.Context(), u.ID)
			must(t, "UserByID", err)
			same(t, "UserByID", u, stored)
		}
	})
}

func testOrganizations(t *testing.T, open opener) {
	s := open(t)
	orgs, err := s.ListOrganizations(t.Context())
	must(t, "ListOrganizations on an empty store", err)
	if len(orgs) != 0 {
		t.Fatalf("empty store lists %d organizations", len(orgs))
	}
	must(t, "PutOrganization", s.PutOrganization(t.Context(), identity.Organization{ID: "globex", Name: "Globex"}))
	must(t, "PutOrganization", s.PutOrganization(t.Context(), identity.Organization{ID: "acme", Name: "Acme"}))
	must(t, "PutOrganization again", s.PutOrganization(t.Context(), identity.Organization{ID: "acme", Name: "Acme Corp."}))
	orgs, err = s.ListOrganizations(t.Context())
	must(t, "ListOrganizations", err)
	want := []identity.Organization{{ID: "acme", Name: "Acme Corp."}, {ID: "globex", Name: "Globex"}}
	if fmt.Sprint(orgs) != fmt.Sprint(want) {
		t.Errorf("ListOrganizations = %v, want %v", orgs, want)
	}
}
