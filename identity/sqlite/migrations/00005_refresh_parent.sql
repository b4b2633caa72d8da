-- +goose Up
-- The token a refresh token replaced, and the token response that
-- delivered it, sealed under a key only the replaced token's holder can
-- derive: within the rotation grace period, a client that retries with
-- the replaced token (its first answer was lost) gets the same pair again.
ALTER TABLE refresh_tokens ADD COLUMN parent_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN sealed BLOB;
CREATE INDEX refresh_tokens_parent_hash ON refresh_tokens (parent_hash) WHERE parent_hash <> '';

-- +goose Down
DROP INDEX refresh_tokens_parent_hash;
ALTER TABLE refresh_tokens DROP COLUMN sealed;
ALTER TABLE refresh_tokens DROP COLUMN parent_hash;
