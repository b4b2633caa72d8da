package demo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gatehousehq/gatehouse/identity"
)

// The audience of user tokens: the gateway and every user-facing service
// (accounts, users, profiles, orders) accept it, so that a token can be
// relayed as it is (users → profiles). A token that orders may exchange for
// payments also needs "orders" in its aud (RFC 8693: the subject token must
// have been issued for the exchanging client).
const apiAudience = "api"

var demoOrgs = []identity.Organization{{ID: "acme", Name: "Acme Corp"}, {ID: "globex", Name: "Globex Inc"}}

var demoUsers = []identity.User{
	{Username: "alice", Name: "Alice Admin", Email: "alice@acme.example", Org: "acme", Groups: []string{"admin"}, Roles: []string{"admin"}},
	{Username: "bob", Name: "Bob Builder", Email: "bob@acme.example", Org: "acme"},
	{Username: "carol", Name: "Carol Customer", Email: "carol@globex.example", Org: "globex"},
}

// spaAccessTTL is the lifetime of the browser app's access tokens.
const spaAccessTTL = time.Minute

// service clients: one per sample service, for client credentials and token
// exchange.
var serviceClients = []string{"accounts", "admin", "users", "profiles", "orders", "payments"}

var demoClients = func() []identity.Client {
	cs := []identity.Client{
		{ID: "cli", Name: "curl walkthrough",
			Grants:    []string{identity.GrantPassword, identity.GrantRefreshToken, identity.GrantTokenExchange},
			Scopes:    []string{"openid", "profile", "email", "orders:read", "orders:write", "offline_access"},
			Audiences: []string{apiAudience, "orders"}},
		// The browser app (app.go): its access tokens live a minute, so that
		// the app's background renewal with the rotating refresh token is
		// seen at work; audience orders lets orders exchange them for
		// payments (pay). Its tokens are DPoP-bound (RFC 9449) to a key the
		// browser cannot export, and so is its refresh token.
		{ID: "spa", Name: "browser app (code + PKCE + DPoP)", Public: true,
			Grants:          []string{identity.GrantAuthorizationCode, identity.GrantRefreshToken},
			Scopes:          []string{"openid", "profile", "email", "orders:read", "orders:write", "offline_access"},
			Audiences:       []string{apiAudience, "orders"},
			AccessTokenTTL:  spaAccessTTL,
			DPoPBoundTokens: true},
	}
	for _, s := range serviceClients {
		c := identity.Client{ID: s, Name: s + " service",
			Grants: []string{identity.GrantClientCredentials, identity.GrantTokenExchange}, Audiences: []string{apiAudience}}
		if s == "orders" {
			// orders has no secret: its workload certificate authenticates
			// it at the auth server's mTLS listener (tls_client_auth), and
			// its tokens are bound to that certificate (RFC 8705).
			c.Audiences, c.Scopes = []string{"payments"}, []string{"payments:read", "orders:write"}
			c.TLSClientAuthSANURI, c.CertificateBoundTokens = ordersID.String(), true
		}
		cs = append(cs, c)
	}
	return cs
}()

// seed writes the demo organizations, users and clients into store, keeping
// what is already there when it matches (user IDs survive restarts, hashes
// are only recomputed when a password or secret changed). appURL is the
// browser app's URL at the gateway (it follows the gateway port): the spa
// client's redirect URI is appURL + "callback", its post-logout redirect
// URI appURL.
func seed(ctx context.Context, store identity.Store, sec *secrets, appURL string) error {
	// A start that finds what the previous one seeded skips the argon2id
	// work: the fingerprint covers every secret and the app URL.
	fp := sec.fingerprint(appURL)
	if sec.seededWith() == fp && seeded(ctx, store, appURL) {
		return nil
	}
	for _, o := range demoOrgs {
		if err := store.PutOrganization(ctx, o); err != nil {
			return fmt.Errorf("demo: seed organization %s: %w", o.ID, err)
		}
	}
	// Argon2id costs tens of milliseconds per hash: run them in parallel.
	var g errgroup.Group
	for _, u := range demoUsers {
		g.Go(func() error {
			pw := sec.passwords[u.Username]
			if old, err := store.UserByUsername(ctx, u.Username); err == nil {
				if ok, _ := identity.VerifyPassword(old.PasswordHash, pw); ok && !old.Disabled && sameUser(old, &u) {
					return nil
				}
			} else if !errors.Is(err, identity.ErrNotFound) {
				return fmt.Errorf("demo: seed user %s: %w", u.Username, err)
			}
			hash, err := identity.HashPassword(pw)
			if err != nil {
				return fmt.Errorf("demo: seed user %s: %w", u.Username, err)
			}
			u.PasswordHash = hash
			if err := store.PutUser(ctx, &u); err != nil {
				return fmt.Errorf("demo: seed user %s: %w", u.Username, err)
			}
			return nil
		})
	}
	for _, c := range demoClients {
		g.Go(func() error {
			if c.ID == "spa" {
				c.RedirectURIs, c.PostLogoutRedirectURIs = spaURIs(appURL)
			}
			old, err := store.ClientByID(ctx, c.ID)
			if err != nil && !errors.Is(err, identity.ErrNotFound) {
				return fmt.Errorf("demo: seed client %s: %w", c.ID, err)
			}
			if hasSecret(&c) {
				if old != nil && old.SecretHash != "" {
					if ok, _ := identity.VerifyPassword(old.SecretHash, sec.clients[c.ID]); ok {
						c.SecretHash = old.SecretHash
					}
				}
				if c.SecretHash == "" {
					if c.SecretHash, err = identity.HashSecret(sec.clients[c.ID]); err != nil {
						return fmt.Errorf("demo: seed client %s: %w", c.ID, err)
					}
				}
			}
			if err := store.PutClient(ctx, &c); err != nil {
				return fmt.Errorf("demo: seed client %s: %w", c.ID, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return sec.markSeeded(fp)
}

// spaURIs returns the redirect and post-logout redirect URIs of the spa
// client for the app at appURL.
func spaURIs(appURL string) (redirect, postLogout []string) {
	return []string{appURL + "callback"}, []string{appURL}
}

// seeded reports whether store holds the demo's users and the spa client
// with the URIs of appURL.
func seeded(ctx context.Context, store identity.Store, appURL string) bool {
	redirect, postLogout := spaURIs(appURL)
	for _, u := range demoUsers {
		if _, err := store.UserByUsername(ctx, u.Username); err != nil {
			return false
		}
	}
	for _, c := range demoClients {
		got, err := store.ClientByID(ctx, c.ID)
		if err != nil || got.DPoPBoundTokens != c.DPoPBoundTokens || got.TLSClientAuthSANURI != c.TLSClientAuthSANURI ||
			got.CertificateBoundTokens != c.CertificateBoundTokens || (c.ID == "spa" && (!slices.Equal(got.RedirectURIs, redirect) ||
			!slices.Equal(got.PostLogoutRedirectURIs, postLogout) || got.AccessTokenTTL != spaAccessTTL)) {
			return false
		}
	}
	return true
}

func sameUser(a, b *identity.User) bool {
	return a.Email == b.Email && a.Name == b.Name && a.Org == b.Org &&
		slices.Equal(a.Groups, b.Groups) && slices.Equal(a.Roles, b.Roles)
}

// hasSecret reports whether c authenticates with a client secret: not a
// public client, nor one that authenticates with its TLS certificate.
func hasSecret(c *identity.Client) bool {
	return !c.Public && c.TLSClientAuthSANURI == ""
}
