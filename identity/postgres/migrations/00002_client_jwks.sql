-- +goose Up
-- The client's public keys for private_key_jwt client authentication (RFC 7523).
ALTER TABLE clients ADD COLUMN jwks text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE clients DROP COLUMN jwks;
