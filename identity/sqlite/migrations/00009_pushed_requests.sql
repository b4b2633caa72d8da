-- +goose Up
-- Pushed authorization requests (RFC 9126): stored by the hash of their
-- request_uri, taken once (DELETE ... RETURNING) by the client that pushed
-- them, until expires_at (unix milliseconds).
CREATE TABLE pushed_requests (
	hash       TEXT    NOT NULL PRIMARY KEY,
	client_id  TEXT    NOT NULL,
	params     TEXT    NOT NULL DEFAULT '',
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX pushed_requests_expires_at ON pushed_requests (expires_at);

-- +goose Down
DROP TABLE pushed_requests;
