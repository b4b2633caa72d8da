-- +goose Up
-- When a signing key starts signing: a rotation publishes the new key in
-- the JWKS first and lets it sign only later, so that every auth server
-- instance and every verifier has it before a token carries its kid.
ALTER TABLE signing_keys ADD COLUMN sign_from INTEGER NOT NULL DEFAULT 0;
UPDATE signing_keys SET sign_from = created_at;

-- +goose Down
ALTER TABLE signing_keys DROP COLUMN sign_from;
