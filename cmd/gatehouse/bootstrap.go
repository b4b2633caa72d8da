package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/internal/config"
	"github.com/gatehousehq/gatehouse/keys"
)

// seed is what the authserver section declares: organizations, users and
// clients, with passwords and secrets already hashed.
type seed struct {
	orgs    []identity.Organization
	users   []*identity.User
	clients []*identity.Client
}

// seedOf resolves and hashes every password and secret of the section
// before anything is written, so that a bad entry changes nothing. Its
// errors are *config.Error ("path:line: key: reason") and never hold a
// secret.
func seedOf(path string, a *config.AuthServer) (*seed, error) {
	key := ""
	at := func(line int, format string, args ...any) error {
		return &config.Error{Path: path, Line: line, Key: key, Reason: fmt.Sprintf(format, args...)}
	}
	s := &seed{}
	for _, o := range a.Organizations {
		s.orgs = append(s.orgs, identity.Organization{ID: o.ID, Name: o.Name})
	}
	for i, u := range a.Users {
		key = fmt.Sprintf("authserver.users[%d]", i)
		hash := u.PasswordHash // already argon2id (checked by config)
		if hash == "" {
			pw, err := u.ResolvePassword()
			if err != nil {
				return nil, at(u.Line, "user %q: %v", u.Username, err)
			}
			// The password policy (identity/password_policy.go); a
			// password_hash is not checked.
			if err := identity.CheckPassword(pw); err != nil {
				return nil, at(u.Line, "user %q: %s", u.Username, strings.TrimPrefix(err.Error(), "identity: "))
			}
			if hash, err = identity.HashPassword(pw); err != nil {
				return nil, at(u.Line, "user %q: %s", u.Username, strings.TrimPrefix(err.Error(), "identity: "))
			}
		}
		s.users = append(s.users, &identity.User{
			Username: u.Username, Email: u.Email, Name: u.Name, PasswordHash: hash,
			Org: u.Org, Groups: u.Groups, Roles: u.Roles, Disabled: u.Disabled,
		})
	}
	for i, c := range a.Clients {
		key = fmt.Sprintf("authserver.clients[%d]", i)
		var hash, jwks string
		if c.JWKSFile != "" {
			data, err := os.ReadFile(c.JWKSFile)
			if err != nil {
				return nil, at(c.Line, "client %q: jwks_file: %v", c.ID, err)
			}
			if ks, err := keys.ParseJWKS(data); err != nil {
				return nil, at(c.Line, "client %q: jwks_file %s holds no usable public key: %v", c.ID, c.JWKSFile, err)
			} else if len(ks) == 0 {
				return nil, at(c.Line, "client %q: jwks_file %s holds no public key of a supported kind (EC P-256, OKP Ed25519, RSA of 2048 bits or more): add one", c.ID, c.JWKSFile)
			}
			jwks = string(data)
		}
		if !c.Public && (c.Secret != config.Secret{} || (jwks == "" && !c.TLSClientAuth())) {
			secret, err := c.Secret.Resolve()
			if err != nil {
				return nil, at(c.Line, "client %q: %v", c.ID, err)
			}
			if hash, err = identity.HashSecret(secret); err != nil {
				return nil, at(c.Line, "client %q: %s", c.ID, strings.TrimPrefix(err.Error(), "identity: "))
			}
		}
		s.clients = append(s.clients, &identity.Client{
			ID: c.ID, SecretHash: hash, Public: c.Public, Name: c.Name, Grants: c.Grants,
			RedirectURIs: c.RedirectURIs, Scopes: c.Scopes, Audiences: c.Audiences,
			AccessTokenTTL: c.AccessTokenTTL, RefreshTokenTTL: c.RefreshTokenTTL, JWKS: jwks,
			AllowedOrigins: c.AllowedOrigins, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
			Introspection:       c.Introspection,
			TLSClientAuthSANURI: c.TLSClientAuthSANURI, TLSClientAuthSubjectDN: c.TLSClientAuthSubjectDN,
			SelfSignedTLSClientAuth: c.SelfSignedTLSClientAuth, CertificateBoundTokens: c.CertificateBoundTokens,
			DPoPBoundTokens: c.DPoPBoundTokens, RequirePAR: c.RequirePAR,
		})
	}
	return s, nil
}

// apply creates or replaces the seed's entries in the store. A user keeps
// the ID it already has (its sub claim), and stays disabled when
// 'gatehouse user disable' disabled it: a restart must not bring an
// account back. Entries removed from the file stay in the store (see
// 'gatehouse user disable', 'gatehouse client delete').
func (s *seed) apply(ctx context.Context, st identity.Store) error {
	for _, o := range s.orgs {
		if err := st.PutOrganization(ctx, o); err != nil {
			return fmt.Errorf("store organization %q: %w", o.ID, err)
		}
	}
	for _, u := range s.users {
		old, err := st.UserByUsername(ctx, u.Username)
		switch {
		case err == nil:
			u.Disabled = u.Disabled || old.Disabled
		case !errors.Is(err, identity.ErrNotFound):
			return fmt.Errorf("look up user %q: %w", u.Username, err)
		}
		if err := st.PutUser(ctx, u); err != nil {
			return fmt.Errorf("store user %q: %w", u.Username, err)
		}
	}
	for _, c := range s.clients {
		if err := st.PutClient(ctx, c); err != nil {
			return fmt.Errorf("store client %q: %w", c.ID, err)
		}
	}
	return nil
}
