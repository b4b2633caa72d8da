package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

func newClient(id string) *identity.Client {
	return &identity.Client{
		ID:                      id,
		SecretHash:              fakeHash,
		Name:                    "Client " + id,
		Grants:                  []string{identity.GrantAuthorizationCode, identity.GrantRefreshToken},
		RedirectURIs:            []string{"https://app.example/callback", "http://127.0.0.1:8080/cb?x=1&y=2"},
		Scopes:                  []string{"openid", "profile", "orders:read"},
		Audiences:               []string{"orders", "accounts"},
		AccessTokenTTL:          5 * time.Minute,
		RefreshTokenTTL:         30 * 24 * time.Hour,
		JWKS:                    `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`,
		AllowedOrigins:          []string{"https://other.example", "http://127.0.0.1:5173"},
		PostLogoutRedirectURIs:  []string{"https://app.example/", "https://app.example/bye?x=1"},
		Introspection:           true,
		TLSClientAuthSANURI:     "spiffe://example.org/web",
		TLSClientAuthSubjectDN:  "CN=web,O=Example",
		SelfSignedTLSClientAuth: true,
		CertificateBoundTokens:  true,
		DPoPBoundTokens:         true,
		RequirePAR:              true,
	}
}

func testClients(t *testing.T, open opener) {
	t.Run("CreateClient round-trips", func(t *testing.T) {
		s := open(t)
		c := newClient("web")
		before := time.Now()
		must(t, "CreateClient", s.CreateClient(t.Context(), c))
		within(t, "UpdatedAt", c.UpdatedAt, before, time.Now())
		got, err := s.ClientByID(t.Context(), "web")
		must(t, "ClientByID", err)
		same(t, "ClientByID", c, got)
	})
	t.Run("public client with zero TTLs and no slices", func(t *testing.T) {
		s := open(t)
		c := &identity.Client{ID: "cli", Public: true, Grants: []string{}}
		must(t, "CreateClient", s.CreateClient(t.Context(), c))
		got, err := s.ClientByID(t.Context(), "cli")
		must(t, "ClientByID", err)
		same(t, "ClientByID", c, got)
	})
	t.Run("CreateClient refuses a taken ID", func(t *testing.T) {
		s := open(t)
		c := newClient("web")
		must(t, "CreateClient", s.CreateClient(t.Context(), c))
		other := newClient("web")
		other.Name = "impostor"
		wantErr(t, "CreateClient again", s.CreateClient(t.Context(), other), identity.ErrConflict)
		got, err := s.ClientByID(t.Context(), "web")
		must(t, "ClientByID", err)
		same(t, "ClientByID", c, got)
	})
	t.Run("PutClient creates and replaces", func(t *testing.T) {
		s := open(t)
		c := newClient("web")
		must(t, "PutClient", s.PutClient(t.Context(), c))
		got, err := s.ClientByID(t.Context(), "web")
		must(t, "ClientByID", err)
		same(t, "ClientByID after create", c, got)

		repl := &identity.Client{
			ID:             "web",
			Public:         true,
			Name:           "Web app",
			Grants:         []string{identity.GrantAuthorizationCode},
			RedirectURIs:   []string{"https://app.example/new"},
			AccessTokenTTL: 90 * time.Second,
			// One list changed, the other emptied: both must be replaced;
			// the introspection right taken away.
			PostLogoutRedirectURIs: []string{"https://app.example/new-bye"},
		}
		before := time.Now()
		must(t, "PutClient again", s.PutClient(t.Context(), repl))
		within(t, "UpdatedAt", repl.UpdatedAt, before, time.Now())
		got, err = s.ClientByID(t.Context(), "web")
		must(t, "ClientByID", err)
		same(t, "ClientByID after replace", repl, got)
	})
	t.Run("unknown client", func(t *testing.T) {
		s := open(t)
		c, err := s.ClientByID(t.Context(), "nobody")
		wantErr(t, "ClientByID", err, identity.ErrNotFound)
		if c != nil {
			t.Errorf("ClientByID returned %+v with ErrNotFound", c)
		}
		wantErr(t, "DeleteClient", s.DeleteClient(t.Context(), "nobody"), identity.ErrNotFound)
	})
	t.Run("ListClients sorted by ID", func(t *testing.T) {
		s := open(t)
		list, err := s.ListClients(t.Context())
		must(t, "ListClients on an empty store", err)
		if len(list) != 0 {
			t.Fatalf("empty store lists %d clients", len(list))
		}
		byID := map[string]*identity.Client{}
		for _, id := range []string{"web", "cli", "orders-service", "accounts"} {
			c := newClient(id)
			must(t, "CreateClient", s.CreateClient(t.Context(), c))
			byID[id] = c
		}
		list, err = s.ListClients(t.Context())
		must(t, "ListClients", err)
		var ids []string
		for _, c := range list {
			ids = append(ids, c.ID)
			same(t, "ListClients "+c.ID, byID[c.ID], c)
		}
		if want := "[accounts cli orders-service web]"; fmt.Sprint(ids) != want {
			t.Errorf("ListClients order %v, want %v", ids, want)
		}
	})
	t.Run("DeleteClient", func(t *testing.T) {
		s := open(t)
		must(t, "CreateClient", s.CreateClient(t.Context(), newClient("web")))
		must(t, "CreateClient", s.CreateClient(t.Context(), newClient("cli")))
		must(t, "DeleteClient", s.DeleteClient(t.Context(), "web"))
		_, err := s.ClientByID(t.Context(), "web")
		wantErr(t, "ClientByID after delete", err, identity.ErrNotFound)
		wantErr(t, "DeleteClient again", s.DeleteClient(t.Context(), "web"), identity.ErrNotFound)
		list, err := s.ListClients(t.Context())
		must(t, "ListClients", err)
		if len(list) != 1 || list[0].ID != "cli" {
			t.Errorf("ListClients after delete = %v, want only cli", list)
		}
		// The ID is free again.
		must(t, "CreateClient after delete", s.CreateClient(t.Context(), newClient("web")))
	})
}
