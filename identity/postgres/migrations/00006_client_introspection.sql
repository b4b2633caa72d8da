-- +goose Up
-- Clients that may introspect every token of the server (RFC 7662 §4);
-- others introspect only their own tokens and access tokens issued for
-- them.
ALTER TABLE clients ADD COLUMN introspection boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE clients DROP COLUMN introspection;
