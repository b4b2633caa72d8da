package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

const userColumns = `id, username, email, name, password_hash, org, groups_json, roles_json, disabled, updated_at`

func scanUser(row scanner) (*identity.User, error) {
	var u identity.User
	err := row.Scan(&u.ID, &u.Username, &u.Email, &u.Name, &u.PasswordHash, &u.Org,
		listField{&u.Groups}, listField{&u.Roles}, &u.Disabled, timeField{&u.UpdatedAt})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// CreateUser implements [identity.Users].
func (s *Store) CreateUser(ctx context.Context, u *identity.User) error {
	if u.Username == "" {
		return errors.New("sqlite: create user: empty username")
	}
	id := u.ID
	if id == "" {
		id = identity.NewID()
	}
	at := stamp(time.Time{})
	_, err := s.w.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, u.Username, u.Email, u.Name, u.PasswordHash, u.Org, list(u.Groups), list(u.Roles), u.Disabled, ms(at))
	if err != nil {
		return wrap("create user", err)
	}
	u.ID, u.UpdatedAt = id, at
	return nil
}

// PutUser implements [identity.Users].
func (s *Store) PutUser(ctx context.Context, u *identity.User) error {
	if u.Username == "" {
		return errors.New("sqlite: put user: empty username")
	}
	id := u.ID
	if id == "" {
		id = identity.NewID()
	}
	at := stamp(time.Time{})
	err := s.w.QueryRowContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (username) DO UPDATE SET
			email = excluded.email, name = excluded.name, password_hash = excluded.password_hash,
			org = excluded.org, groups_json = excluded.groups_json, roles_json = excluded.roles_json,
			disabled = excluded.disabled, updated_at = excluded.updated_at
		RETURNING id`,
		id, u.Username, u.Email, u.Name, u.PasswordHash, u.Org, list(u.Groups), list(u.Roles), u.Disabled, ms(at)).Scan(&id)
	if err != nil {
		return wrap("put user", err)
	}
	u.ID, u.UpdatedAt = id, at
	return nil
}

// UserByID implements [identity.Users].
func (s *Store) UserByID(ctx context.Context, id string) (*identity.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return nil, wrap("user by id", err)
	}
	return u, nil
}

// UserByUsername implements [identity.Users].
func (s *Store) UserByUsername(ctx context.Context, username string) (*identity.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username))
	if err != nil {
		return nil, wrap("user by username", err)
	}
	return u, nil
}

// ListUsers implements [identity.Users].
func (s *Store) ListUsers(ctx context.Context) ([]*identity.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
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
	u, err := scanUser(s.w.QueryRowContext(ctx, `UPDATE users SET disabled = ?, updated_at = ? WHERE username = ? RETURNING `+userColumns,
		disabled, ms(stamp(time.Time{})), username))
	if err != nil {
		return nil, wrap("set user disabled", err)
	}
	return u, nil
}

// PutOrganization implements [identity.Organizations].
func (s *Store) PutOrganization(ctx context.Context, o identity.Organization) error {
	if o.ID == "" {
		return errors.New("sqlite: put organization: empty id")
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO organizations (id, name) VALUES (?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name`, o.ID, o.Name)
	if err != nil {
		return wrap("put organization", err)
	}
	return nil
}

// ListOrganizations implements [identity.Organizations].
func (s *Store) ListOrganizations(ctx context.Context) ([]identity.Organization, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name FROM organizations ORDER BY id`)
	if err != nil {
		return nil, wrap("list organizations", err)
	}
	orgs, err := collect(rows, func(row scanner) (identity.Organization, error) {
		var o identity.Organization
		return o, row.Scan(&o.ID, &o.Name)
	})
	if err != nil {
		return nil, wrap("list organizations", err)
	}
	return orgs, nil
}

const clientColumns = `id, secret_hash, public, name, grants_json, redirect_uris_json, scopes_json, audiences_json,
	access_ttl_ms, refresh_ttl_ms, updated_at, jwks, allowed_origins_json, post_logout_redirect_uris_json, introspection,
	tls_client_auth_san_uri, tls_client_auth_subject_dn, self_signed_tls_client_auth, certificate_bound_tokens, dpop_bound_tokens, require_par`

func scanClient(row scanner) (*identity.Client, error) {
	var c identity.Client
	err := row.Scan(&c.ID, &c.SecretHash, &c.Public, &c.Name, listField{&c.Grants}, listField{&c.RedirectURIs},
		listField{&c.Scopes}, listField{&c.Audiences}, durationField{&c.AccessTokenTTL}, durationField{&c.RefreshTokenTTL},
		timeField{&c.UpdatedAt}, &c.JWKS, listField{&c.AllowedOrigins}, listField{&c.PostLogoutRedirectURIs}, &c.Introspection,
		&c.TLSClientAuthSANURI, &c.TLSClientAuthSubjectDN, &c.SelfSignedTLSClientAuth, &c.CertificateBoundTokens, &c.DPoPBoundTokens, &c.RequirePAR)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func clientArgs(c *identity.Client, at time.Time) []any {
	return []any{c.ID, c.SecretHash, c.Public, c.Name, list(c.Grants), list(c.RedirectURIs), list(c.Scopes), list(c.Audiences),
		c.AccessTokenTTL.Milliseconds(), c.RefreshTokenTTL.Milliseconds(), ms(at), c.JWKS, list(c.AllowedOrigins), list(c.PostLogoutRedirectURIs), c.Introspection,
		c.TLSClientAuthSANURI, c.TLSClientAuthSubjectDN, c.SelfSignedTLSClientAuth, c.CertificateBoundTokens, c.DPoPBoundTokens, c.RequirePAR}
}

// CreateClient implements [identity.Clients].
func (s *Store) CreateClient(ctx context.Context, c *identity.Client) error {
	if c.ID == "" {
		return errors.New("sqlite: create client: empty id")
	}
	at := stamp(time.Time{})
	_, err := s.w.ExecContext(ctx, `INSERT INTO clients (`+clientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
		return errors.New("sqlite: put client: empty id")
	}
	at := stamp(time.Time{})
	_, err := s.w.ExecContext(ctx, `INSERT INTO clients (`+clientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			secret_hash = excluded.secret_hash, public = excluded.public, name = excluded.name,
			grants_json = excluded.grants_json, redirect_uris_json = excluded.redirect_uris_json,
			scopes_json = excluded.scopes_json, audiences_json = excluded.audiences_json,
			access_ttl_ms = excluded.access_ttl_ms, refresh_ttl_ms = excluded.refresh_ttl_ms,
			updated_at = excluded.updated_at, jwks = excluded.jwks,
			allowed_origins_json = excluded.allowed_origins_json,
			post_logout_redirect_uris_json = excluded.post_logout_redirect_uris_json,
			introspection = excluded.introspection,
			tls_client_auth_san_uri = excluded.tls_client_auth_san_uri, tls_client_auth_subject_dn = excluded.tls_client_auth_subject_dn,
			self_signed_tls_client_auth = excluded.self_signed_tls_client_auth, certificate_bound_tokens = excluded.certificate_bound_tokens,
			dpop_bound_tokens = excluded.dpop_bound_tokens, require_par = excluded.require_par`,
		clientArgs(c, at)...)
	if err != nil {
		return wrap("put client", err)
	}
	c.UpdatedAt = at
	return nil
}

// ClientByID implements [identity.Clients].
func (s *Store) ClientByID(ctx context.Context, id string) (*identity.Client, error) {
	c, err := scanClient(s.r.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id))
	if err != nil {
		return nil, wrap("client by id", err)
	}
	return c, nil
}

// ListClients implements [identity.Clients].
func (s *Store) ListClients(ctx context.Context) ([]*identity.Client, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY id`)
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
	res, err := s.w.ExecContext(ctx, `DELETE FROM clients WHERE id = ?`, id)
	if err == nil {
		err = affected(res, 1)
	}
	if err != nil {
		return wrap("delete client", err)
	}
	return nil
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// affected returns sql.ErrNoRows when res changed fewer than want rows.
func affected(res sql.Result, want int64) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n < want {
		return sql.ErrNoRows
	}
	return nil
}
