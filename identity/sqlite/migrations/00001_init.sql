-- The first schema of the gatehouse identity store (SQLite).
-- Times are unix milliseconds, 0 for "not set"; lists are JSON arrays of
-- strings; secrets are stored as hashes only (see package identity).

-- +goose Up
CREATE TABLE users (
	id            TEXT    NOT NULL PRIMARY KEY,
	username      TEXT    NOT NULL UNIQUE,
	email         TEXT    NOT NULL DEFAULT '',
	name          TEXT    NOT NULL DEFAULT '',
	password_hash TEXT    NOT NULL DEFAULT '',
	org           TEXT    NOT NULL DEFAULT '',
	groups_json   TEXT    NOT NULL DEFAULT '[]',
	roles_json    TEXT    NOT NULL DEFAULT '[]',
	disabled      INTEGER NOT NULL DEFAULT 0,
	updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE organizations (
	id   TEXT NOT NULL PRIMARY KEY,
	name TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE clients (
	id                 TEXT    NOT NULL PRIMARY KEY,
	secret_hash        TEXT    NOT NULL DEFAULT '',
	public             INTEGER NOT NULL DEFAULT 0,
	name               TEXT    NOT NULL DEFAULT '',
	grants_json        TEXT    NOT NULL DEFAULT '[]',
	redirect_uris_json TEXT    NOT NULL DEFAULT '[]',
	scopes_json        TEXT    NOT NULL DEFAULT '[]',
	audiences_json     TEXT    NOT NULL DEFAULT '[]',
	access_ttl_ms      INTEGER NOT NULL DEFAULT 0,
	refresh_ttl_ms     INTEGER NOT NULL DEFAULT 0,
	updated_at         INTEGER NOT NULL
) STRICT;

CREATE TABLE auth_codes (
	hash                  TEXT    NOT NULL PRIMARY KEY,
	client_id             TEXT    NOT NULL,
	user_id               TEXT    NOT NULL,
	redirect_uri          TEXT    NOT NULL DEFAULT '',
	scope                 TEXT    NOT NULL DEFAULT '',
	audience_json         TEXT    NOT NULL DEFAULT '[]',
	nonce                 TEXT    NOT NULL DEFAULT '',
	code_challenge        TEXT    NOT NULL DEFAULT '',
	code_challenge_method TEXT    NOT NULL DEFAULT '',
	auth_time             INTEGER NOT NULL DEFAULT 0,
	expires_at            INTEGER NOT NULL,
	used_at               INTEGER NOT NULL DEFAULT 0,
	family_id             TEXT    NOT NULL DEFAULT '',
	issued_jti            TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);

-- A family is the chain of refresh tokens of one login; revoking it kills
-- every token of the chain. A row may exist before its first token (revoked
-- ahead of time) and outlive its last one until PruneGrants.
CREATE TABLE refresh_families (
	id         TEXT    NOT NULL PRIMARY KEY,
	subject    TEXT    NOT NULL DEFAULT '',
	client_id  TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	revoked_at INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX refresh_families_subject ON refresh_families (subject);

CREATE TABLE refresh_tokens (
	hash          TEXT    NOT NULL PRIMARY KEY,
	family_id     TEXT    NOT NULL,
	client_id     TEXT    NOT NULL,
	subject       TEXT    NOT NULL,
	scope         TEXT    NOT NULL DEFAULT '',
	audience_json TEXT    NOT NULL DEFAULT '[]',
	auth_time     INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	expires_at    INTEGER NOT NULL,
	used_at       INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

CREATE TABLE revocations (
	kind          TEXT    NOT NULL,
	value         TEXT    NOT NULL,
	issued_before INTEGER NOT NULL DEFAULT 0,
	until_at      INTEGER NOT NULL,
	created_at    INTEGER NOT NULL,
	PRIMARY KEY (kind, value)
) STRICT;
CREATE INDEX revocations_until_at ON revocations (until_at);

CREATE TABLE signing_keys (
	id         TEXT    NOT NULL PRIMARY KEY,
	jwk        BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	retired_at INTEGER NOT NULL DEFAULT 0
) STRICT;
-- At most one active key.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (retired_at) WHERE retired_at = 0;

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE revocations;
DROP TABLE refresh_tokens;
DROP TABLE refresh_families;
DROP TABLE auth_codes;
DROP TABLE clients;
DROP TABLE organizations;
DROP TABLE users;
