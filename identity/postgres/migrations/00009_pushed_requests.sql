-- +goose Up
-- Pushed authorization requests (RFC 9126): stored by the hash of their
-- request_uri, taken once (DELETE ... RETURNING) by the client that pushed
-- them, until expires_at; every auth server instance sees them.
CREATE TABLE pushed_requests (
	hash       text        NOT NULL PRIMARY KEY,
	client_id  text        NOT NULL,
	params     text        NOT NULL DEFAULT '',
	expires_at timestamptz NOT NULL
);
CREATE INDEX pushed_requests_expires_at ON pushed_requests (expires_at);

-- +goose Down
DROP TABLE pushed_requests;
