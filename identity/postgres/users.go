package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehousehq/gatehouse/identity"
)

const userColumns = `id, username, email, name, password_hash, org, groups, roles, disabled, updated_at`

func scanUser(row pgx.Row) (*identity.User, error) {
	var u identity.User
	err := row.Scan(&u.ID, &u.Username, &u.Email, &u.Name, &u.PasswordHash, &u.Org,
		&u.Groups, &u.Roles, &u.Disabled, timeField{&u.UpdatedAt})
	if err != nil {
		return nil, err
	}
	u.Groups, u.Roles = list(u.Groups), list(u.Roles)
	return &u, nil
}

// CreateUser implements [identity.Users].
func (s *Store) CreateUser(ctx context.Context, u *identity.User) error {
	if u.Username == "" {
		return errors.New("postgres: create user: empty username")
	}
	id := u.ID
	if id == "" {
		id = identity.NewID()
	}
	at := stamp(time.Time{})
	_, err := s.pool.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		id, u.Username, u.Email, u.Name, u.PasswordHash, u.Org, arr(u.Groups), arr(u.Roles), u.Disabled, at)
	if err != nil {
		return wrap("create user", err)
	}
	u.ID, u.UpdatedAt = id, at
	return nil
}

// PutUser implements [identity.Users].
func (s *Store) PutUser(ctx context.Context, u *identity.User) error {
	if u.Username == "" {
		return errors.New("postgres: put user: empty username")
	}
	id := u.ID
	if id == "" {
		id = identity.NewID()
	}
	at := stamp(time.Time{})
	err := s.pool.QueryRow(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (username) DO UPDATE SET
			email = EXCLUDED.email, name = EXCLUDED.name, password_hash = EXCLUDED.password_hash,
			org = EXCLUDED.org, groups = EXCLUDED.groups, roles = EXCLUDED.roles,
			disabled = EXCLUDED.disabled, updated_at = EXCLUDED.updated_at
		RETURNING id`,
		id, u.Username, u.Email, u.Name, u.PasswordHash, u.Org, arr(u.Groups), arr(u.Roles), u.Disabled, at).Scan(&id)
	if err != nil {
		return wrap("put user", err)
	}
	u.ID, u.UpdatedAt = id, at
	return nil
}

// UserByID implements [identity.Users].
func (s *Store) UserByID(ctx context.Context, id string) (*identity.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, wrap("user by id", err)
	}
	return u, nil
}

// UserByUsername implements [identity.Users].
func (s *Store) UserByUsername(ctx context.Context, username string) (*identity.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username))
	if err != nil {
		return nil, wrap("user by username", err)
	}
	return u, nil
}

// ListUsers implements [identity.Users].
func (s *Store) ListUsers(ctx context.Context) ([]*identity.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY username COLLATE "C"`)
	if err != nil {
		return nil, wrap("list users", err)
	}
	users, err := collect(rows, scanUser)
	if err != nil {
		return nil, wrap("list users", err)
	}
	return users, nil
}

// SetUserDisabled implements [identity.Users].
func (s *Store) SetUserDisabled(ctx context.Context, username string, disabled bool) (*identity.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `UPDATE users SET disabled = $1, updated_at = $2 WHERE username = $3 RETURNING `+userColumns,
		disabled, stamp(time.Time{}), username))
	if err != nil {
		return nil, wrap("set user disabled", err)
	}
	return u, nil
}

// PutOrganization implements [identity.Organizations].
func (s *Store) PutOrganization(ctx context.Context, o identity.Organization) error {
	if o.ID == "" {
		return errors.New("postgres: put organization: empty id")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO organizations (id, name) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`, o.ID, o.Name)
	if err != nil {
		return wrap("put organization", err)
	}
	return nil
}

// ListOrganizations implements [identity.Organizations].
func (s *Store) ListOrganizations(ctx context.Context) ([]identity.Organization, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name FROM organizations ORDER BY id COLLATE "C"`)
	if err != nil {
		return nil, wrap("list organizations", err)
	}
	orgs, err := collect(rows, func(row pgx.Row) (identity.Organization, error) {
		var o identity.Organization
		return o, row.Scan(&o.ID, &o.Name)
	})
	if err != nil {
		return nil, wrap("list organizations", err)
	}
	return orgs, nil
}

const clientColumns = `id, secret_hash, public, name, grants, redirect_uris, scopes, audiences,
	access_ttl_ms, refresh_ttl_ms, updated_at, jwks, allowed_origins, post_logout_redirect_uris, introspection,
	tls_client_auth_san_uri, tls_client_auth_subject_dn, self_signed_tls_client_auth, certificate_bound_tokens, dpop_bound_tokens, require_par`

func scanClient(row pgx.Row) (*identity.Client, error) {
	var c identity.Client
	var accessMS, refreshMS int64
	err := row.Scan(&c.ID, &c.SecretHash, &c.Public, &c.Name, &c.Grants, &c.RedirectURIs,
		&c.Scopes, &c.Audiences, &accessMS, &refreshMS, timeField{&c.UpdatedAt}, &c.JWKS, &c.AllowedOrigins, &c.PostLogoutRedirectURIs, &c.Introspection,
		&c.TLSClientAuthSANURI, &c.TLSClientAuthSubjectDN, &c.SelfSignedTLSClientAuth, &c.CertificateBoundTokens, &c.DPoPBoundTokens, &c.RequirePAR)
	if err != nil {
		return nil, err
	}
	c.Grants, c.RedirectURIs, c.Scopes, c.Audiences = list(c.Grants), list(c.RedirectURIs), list(c.Scopes), list(c.Audiences)
	c.AllowedOrigins, c.PostLogoutRedirectURIs = list(c.AllowedOrigins), list(c.PostLogoutRedirectURIs)
	c.AccessTokenTTL = time.Duration(accessMS) * time.Millisecond
	c.RefreshTokenTTL = time.Duration(refreshMS) * time.Millisecond
	return &c, nil
}

func clientArgs(c *identity.Client, at time.Time) []any {
	return []any{c.ID, c.SecretHash, c.Public, c.Name, arr(c.Grants), arr(c.RedirectURIs), arr(c.Scopes), arr(c.Audiences),
		c.AccessTokenTTL.Milliseconds(), c.RefreshTokenTTL.Milliseconds(), at, c.JWKS, arr(c.AllowedOrigins), arr(c.PostLogoutRedirectURIs), c.Introspection,
		c.TLSClientAuthSANURI, c.TLSClientAuthSubjectDN, c.SelfSignedTLSClientAuth, c.CertificateBoundTokens, c.DPoPBoundTokens, c.RequirePAR}
}

// CreateClient implements [identity.Clients].
func (s *Store) CreateClient(ctx context.Context, c *identity.Client) error {
	if c.ID == "" {
		return errors.New("postgres: create client: empty id")
	}
	at := stamp(time.Time{})
	_, err := s.pool.Exec(ctx, `INSERT INTO clients (`+clientColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
		clientArgs(c, at)...)
	if err != nil {
		return wrap("create client", err)
	}
	c.UpdatedAt = at
	return nil
}

// PutClient implements [identity.Clients].
func (s *Store) PutClient(ctx context.Context, c *identity.Client) error {
	if c.ID == "" {
		return errors.New("postgres: put client: empty id")
	}
	at := stamp(time.Time{})
	_, err := s.pool.Exec(ctx, `INSERT INTO clients (`+clientColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
		ON CONFLICT (id) DO UPDATE SET
			secret_hash = EXCLUDED.secret_hash, public = EXCLUDED.public, name = EXCLUDED.name,
			grants = EXCLUDED.grants, redirect_uris = EXCLUDED.redirect_uris,
			scopes = EXCLUDED.scopes, audiences = EXCLUDED.audiences,
			access_ttl_ms = EXCLUDED.access_ttl_ms, refresh_ttl_ms = EXCLUDED.refresh_ttl_ms,
			updated_at = EXCLUDED.updated_at, jwks = EXCLUDED.jwks,
			allowed_origins = EXCLUDED.allowed_origins, post_logout_redirect_uris = EXCLUDED.post_logout_redirect_uris,
			introspection = EXCLUDED.introspection,
			tls_client_auth_san_uri = EXCLUDED.tls_client_auth_san_uri, tls_client_auth_subject_dn = EXCLUDED.tls_client_auth_subject_dn,
			self_signed_tls_client_auth = EXCLUDED.self_signed_tls_client_auth, certificate_bound_tokens = EXCLUDED.certificate_bound_tokens,
			dpop_bound_tokens = EXCLUDED.dpop_bound_tokens, require_par = EXCLUDED.require_par`,
		clientArgs(c, at)...)
	if err != nil {
		return wrap("put client", err)
	}
	c.UpdatedAt = at
	return nil
}

// ClientByID implements [identity.Clients].
func (s *Store) ClientByID(ctx context.Context, id string) (*identity.Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1`, id))
	if err != nil {
		return nil, wrap("client by id", err)
	}
	return c, nil
}

// ListClients implements [identity.Clients].
func (s *Store) ListClients(ctx context.Context) ([]*identity.Client, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY id COLLATE "C"`)
	if err != nil {
		return nil, wrap("list clients", err)
	}
	clients, err := collect(rows, scanClient)
	if err != nil {
		return nil, wrap("list clients", err)
	}
	return clients, nil
}

// DeleteClient implements [identity.Clients].
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM clients WHERE id = $1`, id)
	if err == nil {
		err = rowsAffected(tag, 1)
	}
	if err != nil {
		return wrap("delete client", err)
	}
	return nil
}
