-- +goose Up
-- Browser clients: the origins the auth server answers CORS for beyond
-- those of the redirect URIs, and the URIs RP-initiated logout may return to.
ALTER TABLE clients ADD COLUMN allowed_origins_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris_json TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE clients DROP COLUMN post_logout_redirect_uris_json;
ALTER TABLE clients DROP COLUMN allowed_origins_json;
