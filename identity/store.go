package identity

import (
	"context"
	"time"
)

// Users stores user accounts. Lookups of an unknown user return ErrNotFound.
type Users interface {
	// CreateUser adds u, setting u.ID when empty and u.UpdatedAt;
	// ErrConflict when the username (or the given ID) exists.
	CreateUser(ctx context.Context, u *User) error
	// PutUser creates or replaces the user with u.Username, keeping the
	// existing ID (bootstrap from configuration); it sets u.ID and
	// u.UpdatedAt to what was stored.
	PutUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id string) (*User, error)
	UserByUsername(ctx context.Context, username string) (*User, error)
	// ListUsers returns every user, sorted by username (byte order).
	ListUsers(ctx context.Context) ([]*User, error)
	// SetUserDisabled disables or enables a user and returns it.
	SetUserDisabled(ctx context.Context, username string, disabled bool) (*User, error)
}

// Organizations stores tenants.
type Organizations interface {
	// PutOrganization creates or replaces the organization with o.ID.
	PutOrganization(ctx context.Context, o Organization) error
	// ListOrganizations returns every organization, sorted by ID.
	ListOrganizations(ctx context.Context) ([]Organization, error)
}

// Clients stores OAuth clients. Lookups of an unknown client return
// ErrNotFound.
type Clients interface {
	// CreateClient adds c, setting c.UpdatedAt; ErrConflict when the id exists.
	CreateClient(ctx context.Context, c *Client) error
	// PutClient creates or replaces c (bootstrap from configuration).
	PutClient(ctx context.Context, c *Client) error
	ClientByID(ctx context.Context, id string) (*Client, error)
	// ListClients returns every client, sorted by ID.
	ListClients(ctx context.Context) ([]*Client, error)
	// DeleteClient removes a client; ErrNotFound when there is none.
	DeleteClient(ctx context.Context, id string) error
}

// Codes stores authorization codes.
type Codes interface {
	// SaveCode stores a new code, which needs a Hash and an ExpiresAt;
	// ErrConflict when its hash exists.
	SaveCode(ctx context.Context, c *AuthCode) error
	// ConsumeCode marks the code used and returns it, atomically: of two
	// concurrent redemptions exactly one succeeds. A code used before is
	// returned with ErrCodeUsed, an expired one (ExpiresAt not after now)
	// with ErrExpired and left unused, an unknown one ErrNotFound. A used
	// code is reported as used even when it has expired since.
	ConsumeCode(ctx context.Context, hash string, now time.Time) (*AuthCode, error)
	// SetCodeIssued records what the redemption issued; ErrNotFound for an
	// unknown code.
	SetCodeIssued(ctx context.Context, hash, familyID, jti string) error
}

// PushedRequests stores pushed authorization requests (RFC 9126), so that
// a request pushed to one auth server instance is found by every other.
type PushedRequests interface {
	// PushRequest stores a new pushed request, which needs a Hash, a
	// ClientID and an ExpiresAt; ErrConflict when its hash exists.
	PushRequest(ctx context.Context, p *PushedRequest) error
	// TakePushedRequest deletes the request of hash pushed by clientID and
	// returns it, atomically: of two concurrent takes exactly one gets it.
	// A request unknown, taken before, pushed by another client (which
	// keeps it) or expired (ExpiresAt not after now) is ErrNotFound.
	TakePushedRequest(ctx context.Context, hash, clientID string, now time.Time) (*PushedRequest, error)
}

// RefreshTokens stores refresh token families.
type RefreshTokens interface {
	// SaveRefreshToken stores the first token of a family (or any token
	// outside a rotation), which needs a Hash, a FamilyID and an ExpiresAt,
	// setting t.CreatedAt when zero; ErrConflict when its hash exists. A
	// family revoked before stays revoked.
	SaveRefreshToken(ctx context.Context, t *RefreshToken) error
	// RotateRefreshToken atomically checks the token with oldHash and
	// replaces it by next (same family), returning the old one. Unknown:
	// ErrNotFound; family revoked: ErrFamilyRevoked; already rotated: the
	// family is revoked and ErrRefreshReused returned with the old token (so
	// the caller can audit it); expired (ExpiresAt not after now):
	// ErrExpired. The checks run in that order, and every error but
	// ErrNotFound comes with the old token. An empty next.FamilyID is set to
	// the old token's family (another family is an error) and a zero
	// next.CreatedAt to now. Both engines implement it with [RotateRefresh]
	// (rotation.go), which holds the policy; an engine only stores.
	RotateRefreshToken(ctx context.Context, oldHash string, next *RefreshToken, now time.Time) (*RefreshToken, error)
	// RefreshTokenByHash returns the token, used or not; ErrNotFound when
	// unknown.
	RefreshTokenByHash(ctx context.Context, hash string) (*RefreshToken, error)
	// RefreshTokenByParent returns the token that replaced the token with
	// parentHash; ErrNotFound when there is none.
	RefreshTokenByParent(ctx context.Context, parentHash string) (*RefreshToken, error)
	// RevokeFamily revokes a family; revoking it again, or revoking a
	// family that has no token yet, is not an error (the revocation holds
	// for tokens saved later).
	RevokeFamily(ctx context.Context, familyID string, now time.Time) error
	// RevokeSubjectFamilies revokes every family of a user (logout everywhere).
	RevokeSubjectFamilies(ctx context.Context, subject string, now time.Time) error
	// RevokeClientFamilies revokes every family issued to a client (a
	// revoked client's refresh tokens die with its access tokens).
	RevokeClientFamilies(ctx context.Context, clientID string, now time.Time) error
	// FamilyRevoked reports whether a family was revoked; false for a
	// family the store does not know.
	FamilyRevoked(ctx context.Context, familyID string) (bool, error)
}

// Revocations stores the deny list of access tokens.
type Revocations interface {
	// AddRevocation stores r (merged with an entry of the same kind and
	// value into the later IssuedBefore and Until), recording when it was
	// first added.
	// An entry of the same Kind and Value is merged into one, which keeps
	// the later IssuedBefore and the later Until.
	AddRevocation(ctx context.Context, r Revocation) error
	// ListRevocations returns the entries whose Until is after now.
	ListRevocations(ctx context.Context, now time.Time) ([]Revocation, error)
	// PruneRevocations drops entries whose Until has passed (is not after
	// now) and returns how many.
	PruneRevocations(ctx context.Context, now time.Time) (int, error)
}

// SigningKeys stores the auth server's signing keys, so that several
// instances sign with the same key and publish the same JWKS.
type SigningKeys interface {
	// ListSigningKeys returns every stored key, the newest (zero
	// RetiredAt) first, then retired ones newest first.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// RotateSigningKey stores next as the newest key and retires the key
	// that was newest at next.SignFrom (at now when SignFrom is zero), in
	// one transaction; a zero next.CreatedAt is set to now, a zero
	// next.SignFrom to next.CreatedAt. ErrConflict, and nothing changed,
	// when next.ID exists.
	RotateSigningKey(ctx context.Context, next SigningKey, now time.Time) error
	// DeleteSigningKeys drops keys retired before cutoff (never the active
	// key) and returns how many.
	DeleteSigningKeys(ctx context.Context, retiredBefore time.Time) (int, error)
}

// Store is everything the auth server keeps. Implementations are safe for
// concurrent use and keep multi-row changes in transactions. Times are
// stored with millisecond precision and returned in UTC; nil and empty
// slices are the same.
type Store interface {
	Users
	Organizations
	Clients
	Codes
	PushedRequests
	RefreshTokens
	Revocations
	SigningKeys
	Close() error
}

// CredentialReader is implemented by stores whose ordinary reads leave out
// the password and client secret hashes, such as cachedstore.Store, which keeps
// them out of caches shared with other processes. Whoever checks a password
// or a secret (the auth server) reads the user or client through it when the
// store has it; the entries it returns carry their hashes.
type CredentialReader interface {
	// UserCredentials returns the user with username, with PasswordHash.
	UserCredentials(ctx context.Context, username string) (*User, error)
	// ClientCredentials returns the client with id, with SecretHash.
	ClientCredentials(ctx context.Context, id string) (*Client, error)
}

// GrantPruner is implemented by stores that can drop spent grants, so that
// codes and refresh tokens do not pile up: call it now and then, like
// PruneRevocations. Both engines implement it.
type GrantPruner interface {
	// PruneGrants deletes authorization codes, refresh tokens and pushed
	// authorization requests that expired before cutoff, and the families
	// left without a token that were created before cutoff; it returns how
	// many codes, tokens and requests it deleted. A pruned token is then unknown (ErrNotFound).
	PruneGrants(ctx context.Context, cutoff time.Time) (int, error)
}
