package authserver

import (
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/token"
)

// Who may learn what introspection says of a token (RFC 7662 §4: the
// server decides whether the caller may know about the token, and answers
// an inactive token otherwise). A token's answer tells its sub, scope and
// client_id, and for an access token the user's e-mail, roles and
// organization: what a client that merely holds a secret must not read
// from a token it found.

// mayIntrospectAccess reports whether client may introspect the access
// token c (verified): a client with the introspection right
// (identity.Client.Introspection); the client it was issued to, which
// holds it already; or a client its aud names, the resource server it was
// meant for.
func mayIntrospectAccess(client *identity.Client, c *token.Claims) bool {
	return client.Introspection || c.ClientID == client.ID || c.Audience.Contains(client.ID)
}

// mayIntrospectRefresh reports whether client may introspect the refresh
// token rt: the client it was issued to, or one with the introspection
// right. A refresh token is meant for no resource server.
func mayIntrospectRefresh(client *identity.Client, rt *identity.RefreshToken) bool {
	return client.Introspection || rt.ClientID == client.ID
}
