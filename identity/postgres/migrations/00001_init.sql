-- The first schema of the gatehouse identity store (PostgreSQL). Tables go
-- to the first schema of the connection's search_path.
-- NULL times are "not set"; durations are milliseconds; secrets are stored
-- as hashes only (see package identity).

-- +goose Up
CREATE TABLE users (
	id            text        NOT NULL PRIMARY KEY,
	username      text        NOT NULL UNIQUE,
	email         text        NOT NULL DEFAULT '',
	name          text        NOT NULL DEFAULT '',
	password_hash text        NOT NULL DEFAULT '',
	org           text        NOT NULL DEFAULT '',
	groups        text[]      NOT NULL DEFAULT '{}',
	roles         text[]      NOT NULL DEFAULT '{}',
	disabled      boolean     NOT NULL DEFAULT false,
	updated_at    timestamptz NOT NULL
);

CREATE TABLE organizations (
	id   text NOT NULL PRIMARY KEY,
	name text NOT NULL DEFAULT ''
);

CREATE TABLE clients (
	id             text        NOT NULL PRIMARY KEY,
	secret_hash    text        NOT NULL DEFAULT '',
	public         boolean     NOT NULL DEFAULT false,
	name           text        NOT NULL DEFAULT '',
	grants         text[]      NOT NULL DEFAULT '{}',
	redirect_uris  text[]      NOT NULL DEFAULT '{}',
	scopes         text[]      NOT NULL DEFAULT '{}',
	audiences      text[]      NOT NULL DEFAULT '{}',
	access_ttl_ms  bigint      NOT NULL DEFAULT 0,
	refresh_ttl_ms bigint      NOT NULL DEFAULT 0,
	updated_at     timestamptz NOT NULL
);

CREATE TABLE auth_codes (
	hash                  text        NOT NULL PRIMARY KEY,
	client_id             text        NOT NULL,
	user_id               text        NOT NULL,
	redirect_uri          text        NOT NULL DEFAULT '',
	scope                 text        NOT NULL DEFAULT '',
	audience              text[]      NOT NULL DEFAULT '{}',
	nonce                 text        NOT NULL DEFAULT '',
	code_challenge        text        NOT NULL DEFAULT '',
	code_challenge_method text        NOT NULL DEFAULT '',
	auth_time             timestamptz,
	expires_at            timestamptz NOT NULL,
	used_at               timestamptz,
	family_id             text        NOT NULL DEFAULT '',
	issued_jti            text        NOT NULL DEFAULT ''
);
CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);

-- A family is the chain of refresh tokens of one login; revoking it kills
-- every token of the chain. A row may exist before its first token (revoked
-- ahead of time) and outlive its last one until PruneGrants.
CREATE TABLE refresh_families (
	id         text        NOT NULL PRIMARY KEY,
	subject    text        NOT NULL DEFAULT '',
	client_id  text        NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	revoked_at timestamptz
);
CREATE INDEX refresh_families_subject ON refresh_families (subject);

CREATE TABLE refresh_tokens (
	hash       text        NOT NULL PRIMARY KEY,
	family_id  text        NOT NULL,
	client_id  text        NOT NULL,
	subject    text        NOT NULL,
	scope      text        NOT NULL DEFAULT '',
	audience   text[]      NOT NULL DEFAULT '{}',
	auth_time  timestamptz,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at    timestamptz
);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

CREATE TABLE revocations (
	kind          text        NOT NULL,
	value         text        NOT NULL,
	issued_before timestamptz,
	until_at      timestamptz NOT NULL,
	created_at    timestamptz NOT NULL,
	PRIMARY KEY (kind, value)
);
CREATE INDEX revocations_until_at ON revocations (until_at);

CREATE TABLE signing_keys (
	id         text        NOT NULL PRIMARY KEY,
	jwk        bytea       NOT NULL,
	created_at timestamptz NOT NULL,
	retired_at timestamptz
);
-- At most one active key.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE revocations;
DROP TABLE refresh_tokens;
DROP TABLE refresh_families;
DROP TABLE auth_codes;
DROP TABLE clients;
DROP TABLE organizations;
DROP TABLE users;
