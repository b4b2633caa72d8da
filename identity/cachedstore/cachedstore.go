package cachedstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehousehq/gatehouse/cache"
	"github.com/gatehousehq/gatehouse/identity"
)

// DefaultNegativeTTL is how long a [Store] remembers that a user or client
// does not exist, unless a cache.WithNegative option says otherwise.
const DefaultNegativeTTL = 5 * time.Second

// ErrNotInvalidated is wrapped by the errors of a [Store] write that was
// stored but whose cache invalidation did not reach the shared tier: other
// instances may serve the old entry until its TTL.
var ErrNotInvalidated = errors.New("cachedstore: stored, but the shared cache was not invalidated")

// Store is an identity.Store whose read paths that every request takes —
// user by ID (with the user's groups, roles and organization), user by
// username, client by ID — go through a two-tier cache (package cache),
// so that services and auth server instances that share a backend read
// the store once per TTL for an entry, not once per request. Every write
// of users and clients through it invalidates the entries it changed, in
// this process at once and in the others through the backend (within a
// second on Redis). Everything else goes straight to the store.
//
// Writes made to the store without going through a cachedstore.Store on
// the same backend (an old binary, SQL by hand) are seen after the TTL. It
// is safe for concurrent use; returned values are copies.
//
// The cached values are users and clients without the argon2id hashes of
// their passwords and client secrets: what a shared cache (Redis) holds
// could not help anyone guess a password offline. Its reads return them
// without hashes too; the auth server reads the user or client whose
// credentials it checks through [Store.UserCredentials] and
// [Store.ClientCredentials] (identity.CredentialReader), which go to the
// store. Still, on Redis, give the cache the protection of the store: an
// ACL user, TLS (rediss://), no public address.
type Store struct {
	identity.Store
	users     *cache.Cache[*identity.User] // by ID
	usernames *cache.Cache[*identity.User] // by username
	clients   *cache.Cache[*identity.Client]
}

var (
	_ identity.Store            = (*Store)(nil)
	_ identity.GrantPruner      = (*Store)(nil)
	_ identity.CredentialReader = (*Store)(nil)
)

// New puts store behind caches on backend (cache.NewMemory for one
// process, cache.NewRedis for several). opts apply to each of its caches,
// named "identity.users", "identity.usernames" and "identity.clients";
// by default entries live cache.DefaultTTL and unknown users and clients
// are remembered for DefaultNegativeTTL. Every process that writes users
// or clients must use the same backend (and Redis prefix) for the
// invalidations to reach the others.
func New(store identity.Store, backend cache.Backend, opts ...cache.Option) (*Store, error) {
	if store == nil {
		return nil, errors.New("cachedstore: New needs a store")
	}
	opts = append([]cache.Option{cache.WithNegative(identity.ErrNotFound, DefaultNegativeTTL)}, opts...)
	users, err := cache.New[*identity.User]("identity.users", backend, opts...)
	if err != nil {
		return nil, fmt.Errorf("cachedstore: %w", err)
	}
	usernames, err := cache.New[*identity.User]("identity.usernames", backend, opts...)
	if err != nil {
		users.Close()
		return nil, fmt.Errorf("cachedstore: %w", err)
	}
	clients, err := cache.New[*identity.Client]("identity.clients", backend, opts...)
	if err != nil {
		users.Close()
		usernames.Close()
		return nil, fmt.Errorf("cachedstore: %w", err)
	}
	return &Store{Store: store, users: users, usernames: usernames, clients: clients}, nil
}

// Unwrap returns the store behind the caches.
func (s *Store) Unwrap() identity.Store { return s.Store }

// UserByID returns the user with id, from the cache when it can.
func (s *Store) UserByID(ctx context.Context, id string) (*identity.User, error) {
	u, err := s.users.Get(ctx, id, func(ctx context.Context) (*identity.User, error) {
		return withoutHash(s.Store.UserByID(ctx, id))
	})
	return cloneUser(u), err
}

// UserByUsername returns the user with username, from the cache when it
// can.
func (s *Store) UserByUsername(ctx context.Context, username string) (*identity.User, error) {
	u, err := s.usernames.Get(ctx, username, func(ctx context.Context) (*identity.User, error) {
		return withoutHash(s.Store.UserByUsername(ctx, username))
	})
	return cloneUser(u), err
}

// ClientByID returns the client with id, from the cache when it can.
func (s *Store) ClientByID(ctx context.Context, id string) (*identity.Client, error) {
	c, err := s.clients.Get(ctx, id, func(ctx context.Context) (*identity.Client, error) {
		return withoutSecret(s.Store.ClientByID(ctx, id))
	})
	return cloneClient(c), err
}

// CreateUser creates u in the store and drops what the caches remember
// about its ID and username (a negative entry, typically).
func (s *Store) CreateUser(ctx context.Context, u *identity.User) error {
	if err := s.Store.CreateUser(ctx, u); err != nil {
		return err
	}
	return s.invalidateUser(ctx, u.ID, u.Username)
}

// PutUser creates or replaces u in the store and invalidates its entries.
func (s *Store) PutUser(ctx context.Context, u *identity.User) error {
	if err := s.Store.PutUser(ctx, u); err != nil {
		return err
	}
	return s.invalidateUser(ctx, u.ID, u.Username)
}

// SetUserDisabled disables or enables a user in the store and invalidates
// its entries; the user is returned even when the invalidation failed.
func (s *Store) SetUserDisabled(ctx context.Context, username string, disabled bool) (*identity.User, error) {
	u, err := s.Store.SetUserDisabled(ctx, username, disabled)
	if err != nil {
		return u, err
	}
	return u, s.invalidateUser(ctx, u.ID, username)
}

// CreateClient creates c in the store and invalidates its entry.
func (s *Store) CreateClient(ctx context.Context, c *identity.Client) error {
	if err := s.Store.CreateClient(ctx, c); err != nil {
		return err
	}
	return s.invalidateClient(ctx, c.ID)
}

// PutClient creates or replaces c in the store and invalidates its entry.
func (s *Store) PutClient(ctx context.Context, c *identity.Client) error {
	if err := s.Store.PutClient(ctx, c); err != nil {
		return err
	}
	return s.invalidateClient(ctx, c.ID)
}

// DeleteClient deletes the client from the store and invalidates its
// entry.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	if err := s.Store.DeleteClient(ctx, id); err != nil {
		return err
	}
	return s.invalidateClient(ctx, id)
}

// PruneGrants prunes through the store when it is an identity.GrantPruner.
func (s *Store) PruneGrants(ctx context.Context, cutoff time.Time) (int, error) {
	p, ok := s.Store.(identity.GrantPruner)
	if !ok {
		return 0, errors.New("cachedstore: the store behind the cache does not prune grants")
	}
	return p.PruneGrants(ctx, cutoff)
}

// Stats returns the counters of the three caches added up; Loads counts
// the reads that reached the store.
func (s *Store) Stats() cache.Stats {
	var sum cache.Stats
	for _, st := range []cache.Stats{s.users.Stats(), s.usernames.Stats(), s.clients.Stats()} {
		sum.Hits += st.Hits
		sum.Misses += st.Misses
		sum.SharedHits += st.SharedHits
		sum.Loads += st.Loads
		sum.LoadErrors += st.LoadErrors
		sum.Invalidations += st.Invalidations
		sum.Flushes += st.Flushes
		sum.BackendErrors += st.BackendErrors
		sum.Entries += st.Entries
	}
	return sum
}

// Close detaches the caches from their backend and closes the store. The
// backend stays open: it is shared.
func (s *Store) Close() error {
	s.users.Close()
	s.usernames.Close()
	s.clients.Close()
	return s.Store.Close()
}

func (s *Store) invalidateUser(ctx context.Context, id, username string) error {
	err := errors.Join(s.users.Invalidate(ctx, id), s.usernames.Invalidate(ctx, username))
	if err != nil {
		return fmt.Errorf("%w (user %s; other instances may serve the old entry until its TTL): %w", ErrNotInvalidated, username, err)
	}
	return nil
}

func (s *Store) invalidateClient(ctx context.Context, id string) error {
	if err := s.clients.Invalidate(ctx, id); err != nil {
		return fmt.Errorf("%w (client %s; other instances may serve the old entry until its TTL): %w", ErrNotInvalidated, id, err)
	}
	return nil
}

// UserCredentials returns the user with username from the store, with its
// password hash, never from the cache (identity.CredentialReader).
func (s *Store) UserCredentials(ctx context.Context, username string) (*identity.User, error) {
	return s.Store.UserByUsername(ctx, username)
}

// ClientCredentials returns the client with id from the store, with its
// secret hash, never from the cache (identity.CredentialReader).
func (s *Store) ClientCredentials(ctx context.Context, id string) (*identity.Client, error) {
	return s.Store.ClientByID(ctx, id)
}

func withoutHash(u *identity.User, err error) (*identity.User, error) {
	if u != nil {
		c := *u
		c.PasswordHash = ""
		u = &c
	}
	return u, err
}

func withoutSecret(c *identity.Client, err error) (*identity.Client, error) {
	if c != nil {
		d := *c
		d.SecretHash = ""
		c = &d
	}
	return c, err
}

func cloneUser(u *identity.User) *identity.User {
	if u == nil {
		return nil
	}
	c := *u
	c.Groups, c.Roles = slices.Clone(u.Groups), slices.Clone(u.Roles)
	return &c
}

func cloneClient(c *identity.Client) *identity.Client {
	if c == nil {
		return nil
	}
	d := *c
	d.Grants, d.RedirectURIs = slices.Clone(c.Grants), slices.Clone(c.RedirectURIs)
	d.Scopes, d.Audiences = slices.Clone(c.Scopes), slices.Clone(c.Audiences)
	d.AllowedOrigins, d.PostLogoutRedirectURIs = slices.Clone(c.AllowedOrigins), slices.Clone(c.PostLogoutRedirectURIs)
	return &d
}
