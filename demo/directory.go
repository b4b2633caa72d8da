package demo

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gatehousehq/gatehouse/cache"
	"github.com/gatehousehq/gatehouse/identity"
)

// countingStore counts the identity store reads of the sample services, so
// that the demo can show what the cache saves (seeds/000). The auth server
// uses the store directly and is not counted.
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

// Reads returns the number of store reads so far.
func (s *countingStore) Reads() int64 { return s.reads.Load() }

// account is what the services need to know about a user: no password hash
// ever enters the shared cache.
type account struct {
	ID       string   `json:"id"`
	Email    string   `json:"email"`
	Org      string   `json:"org"`
	Groups   []string `json:"groups"`
	Disabled bool     `json:"disabled"`
}

// directory answers account and organization lookups through the
// two-tier cache: caches of the same name on one backend share their
// entries, so what accounts looked up, admin finds without asking the
// store again.
type directory struct {
	store    identity.Users
	accounts *cache.Cache[account]
	emails   *cache.Cache[[]string]
}

// newDirectory returns a directory over store with caches on backend.
func newDirectory(store identity.Users, backend cache.Backend) (*directory, error) {
	accounts, err := cache.New[account]("demo.accounts", backend, cache.WithTTL(5*time.Minute), cache.WithNegative(identity.ErrNotFound, 10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("demo: account cache: %w", err)
	}
	emails, err := cache.New[[]string]("demo.org-emails", backend, cache.WithTTL(5*time.Minute))
	if err != nil {
		accounts.Close()
		return nil, fmt.Errorf("demo: e-mail cache: %w", err)
	}
	return &directory{store: store, accounts: accounts, emails: emails}, nil
}

// account returns the account of a user ID.
func (d *directory) account(ctx context.Context, id string) (account, error) {
	return d.accounts.Get(ctx, id, func(ctx context.Context) (account, error) {
		u, err := d.store.UserByID(ctx, id)
		if err != nil {
			return account{}, fmt.Errorf("demo: look up account: %w", err)
		}
		return account{ID: u.ID, Email: u.Email, Org: u.Org, Groups: u.Groups, Disabled: u.Disabled}, nil
	})
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
	d.accounts.Close()
	return d.emails.Close()
}
