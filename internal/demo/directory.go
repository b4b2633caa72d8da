package demo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gatehousehq/gatehouse/cache"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/cachedstore"
)

// countingStore counts the identity store reads of the sample services, so
// that the demo can show what the cache saves (accounts → admin). The auth
// server uses the store directly and is not counted.
type countingStore struct {
	identity.Store
	reads atomic.Int64
}

func (s *countingStore) UserByID(ctx context.Context, id string) (*identity.User, error) {
	s.reads.Add(1)
	return s.Store.UserByID(ctx, id)
}

func (s *countingStore) ListUsers(ctx context.Context) ([]*identity.User, error) {
	s.reads.Add(1)
	return s.Store.ListUsers(ctx)
}

// Close does nothing: the demo closes the store itself.
func (s *countingStore) Close() error { return nil }

// Reads returns the number of store reads so far.
func (s *countingStore) Reads() int64 { return s.reads.Load() }

// account is what the services need to know about a user.
type account struct {
	ID       string
	Email    string
	Org      string
	Groups   []string
	Disabled bool
}

// directory answers account and organization lookups through two-tier
// caches on a shared backend: users by ID through cachedstore.New, the
// e-mails of an organization through a cache of its own. Caches of the
// same name on one backend share their entries, so what accounts looked
// up, admin finds without asking the store again.
type directory struct {
	users  *cachedstore.Store
	store  identity.Users
	emails *cache.Cache[[]string]
}

// newDirectory returns a directory over store with caches on backend.
func newDirectory(store identity.Store, backend cache.Backend) (*directory, error) {
	users, err := cachedstore.New(store, backend, cache.WithTTL(5*time.Minute))
	if err != nil {
		return nil, fmt.Errorf("demo: identity cache: %w", err)
	}
	emails, err := cache.New[[]string]("demo.org-emails", backend, cache.WithTTL(5*time.Minute))
	if err != nil {
		users.Close()
		return nil, fmt.Errorf("demo: e-mail cache: %w", err)
	}
	return &directory{users: users, store: store, emails: emails}, nil
}

// account returns the account of a user ID.
func (d *directory) account(ctx context.Context, id string) (account, error) {
	u, err := d.users.UserByID(ctx, id)
	if err != nil {
		return account{}, fmt.Errorf("demo: look up account: %w", err)
	}
	return account{ID: u.ID, Email: u.Email, Org: u.Org, Groups: u.Groups, Disabled: u.Disabled}, nil
}

// orgEmails returns the e-mail addresses of an organization's users, sorted.
func (d *directory) orgEmails(ctx context.Context, org string) ([]string, error) {
	return d.emails.Get(ctx, org, func(ctx context.Context) ([]string, error) {
		users, err := d.store.ListUsers(ctx)
		if err != nil {
			return nil, fmt.Errorf("demo: list accounts: %w", err)
		}
		var out []string
		for _, u := range users {
			if u.Org == org && !u.Disabled && u.Email != "" {
				out = append(out, u.Email)
			}
		}
		slices.Sort(out)
		return out, nil
	})
}

// Close detaches the caches from their backend.
func (d *directory) Close() error {
	return errors.Join(d.users.Close(), d.emails.Close())
}
