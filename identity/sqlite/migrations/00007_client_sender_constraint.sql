-- +goose Up
-- Sender-constrained tokens and pushed authorization requests, per client:
-- mutual-TLS client authentication (RFC 8705 §2: the certificate's URI SAN
-- or subject DN, or a self-signed certificate whose key is in jwks),
-- certificate-bound and DPoP-bound access tokens (RFC 8705 §3, RFC 9449
-- §5.2), and require_pushed_authorization_requests (RFC 9126 §6).
ALTER TABLE clients ADD COLUMN tls_client_auth_san_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN tls_client_auth_subject_dn TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN self_signed_tls_client_auth INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN certificate_bound_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN dpop_bound_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN require_par INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE clients DROP COLUMN require_par;
ALTER TABLE clients DROP COLUMN dpop_bound_tokens;
ALTER TABLE clients DROP COLUMN certificate_bound_tokens;
ALTER TABLE clients DROP COLUMN self_signed_tls_client_auth;
ALTER TABLE clients DROP COLUMN tls_client_auth_subject_dn;
ALTER TABLE clients DROP COLUMN tls_client_auth_san_uri;
