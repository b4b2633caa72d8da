-- +goose Up
-- The DPoP key a code or a refresh token is bound to (RFC 9449): the
-- dpop_jkt of the authorization request (§10), which the code's redemption
-- must prove, and the key of the proof that got a public client its
-- refresh token (§5), which every refresh must prove. '' for unbound.
ALTER TABLE auth_codes ADD COLUMN dpop_jkt TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN dpop_jkt TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE refresh_tokens DROP COLUMN dpop_jkt;
ALTER TABLE auth_codes DROP COLUMN dpop_jkt;
