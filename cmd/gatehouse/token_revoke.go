package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse/cache"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/cachedstore"
	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/token"
)

// adminPublishTimeout bounds what an admin command waits for Redis.
const adminPublishTimeout = 5 * time.Second

// publishedNote says who sees a revocation that was published.
const publishedNote = "published through Redis: guards, gateways and auth servers sharing it refuse the tokens within a second"

// redisFlags is the --redis flag of the admin commands that revoke.
type redisFlags struct{ url string }

func (r *redisFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.url, "redis", "", "redis:// or rediss:// URL of the shared deny list and identity cache to publish to (default: authserver.redis of --config, if any)")
}

// resolve returns the Redis URL: --redis, else the one of the --config
// file's authserver section, else "".
func (r *redisFlags) resolve(cmd *cobra.Command, sf *storeFlags) (string, error) {
	if cmd.Flags().Changed("redis") {
		if !strings.HasPrefix(r.url, "redis://") && !strings.HasPrefix(r.url, "rediss://") && !strings.HasPrefix(r.url, "unix://") {
			return "", usagef("%s: --redis must be a redis:// or rediss:// URL", cmd.CommandPath())
		}
		return r.url, nil
	}
	if sf.config == "" {
		return "", nil
	}
	f, err := loadConfig(cmd, sf.config)
	if err != nil {
		return "", err
	}
	if f.AuthServer == nil {
		return "", nil
	}
	u, err := redisURLOf(f.AuthServer)
	if err != nil {
		return "", usagef("%s: %v", cmd.CommandPath(), err)
	}
	return u, nil
}

// adminShared is the shared state of one admin command: nil without Redis.
type adminShared struct {
	s *sharedState
}

// openAdminShared opens the shared state for an admin command and returns
// st behind the identity cache on Redis, so that its writes invalidate
// what running processes cached; without Redis, st itself.
func openAdminShared(cmd *cobra.Command, rf *redisFlags, sf *storeFlags, st identity.Store) (*adminShared, identity.Store, error) {
	u, err := rf.resolve(cmd, sf)
	if err != nil || u == "" {
		return &adminShared{}, st, err
	}
	s, err := openShared(cmd.Context(), u, sharedOptions{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, usagef("%s: %v", cmd.CommandPath(), err)
	}
	c, err := cachedstore.New(st, s.backend, cache.WithTTL(authCacheTTL))
	if err != nil {
		s.close()
		return nil, nil, usagef("%s: %v", cmd.CommandPath(), err)
	}
	return &adminShared{s: s}, &adminStore{Store: c, e: cmd}, nil
}

// adminStore is the cached store of an admin command: a write that was
// stored but could not invalidate the shared cache (Redis down) is a
// warning, not a failure, so that the command goes on to revoke.
type adminStore struct {
	*cachedstore.Store
	e *cobra.Command
}

func (s *adminStore) warn(err error) error {
	if errors.Is(err, cachedstore.ErrNotInvalidated) {
		s.e.PrintErrf("%s: warning: the shared identity cache was not invalidated (Redis unreachable); running processes may serve the old entry for up to %s\n", s.e.CommandPath(), authCacheTTL)
		return nil
	}
	return err
}

func (s *adminStore) SetUserDisabled(ctx context.Context, username string, disabled bool) (*identity.User, error) {
	u, err := s.Store.SetUserDisabled(ctx, username, disabled)
	return u, s.warn(err)
}

func (s *adminStore) DeleteClient(ctx context.Context, id string) error {
	return s.warn(s.Store.DeleteClient(ctx, id))
}

func (s *adminStore) CreateUser(ctx context.Context, u *identity.User) error {
	return s.warn(s.Store.CreateUser(ctx, u))
}

func (s *adminStore) CreateClient(ctx context.Context, c *identity.Client) error {
	return s.warn(s.Store.CreateClient(ctx, c))
}

func (a *adminShared) enabled() bool { return a.s != nil }

// publish adds r to the shared deny list; nothing without Redis.
func (a *adminShared) publish(ctx context.Context, r identity.Revocation) error {
	if a.s == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, adminPublishTimeout)
	defer cancel()
	return a.s.revocations.Add(ctx, r)
}

func (a *adminShared) close() { a.s.close() }

// note says who sees the revocation now.
func (a *adminShared) note() string {
	if a.enabled() {
		return publishedNote
	}
	return "recorded in the store; running auth servers apply it at their next reload (within 30s); services see it only through a shared Redis deny list (--redis)"
}

func newTokenRevokeCmd(e *env) *cobra.Command {
	var (
		sf                 storeFlags
		rf                 redisFlags
		jti, sub, clientID string
		until              string
	)
	cmd := &cobra.Command{
		Use:   "revoke (--jti ID [--until RFC3339] | --sub SUBJECT | --client ID) [--redis URL]",
		Short: "Put a token, a subject or a client on the deny list",
		Long: `Revoke access tokens before they expire:

  --jti ID       one token, by its jti (gatehouse token decode shows it),
                 kept on the list until --until (the token's exp) plus
                 the verifiers' leeway (default 24h from now);
  --sub SUBJECT  every token of the subject (a user's ID, the sub claim)
                 issued until now, and every refresh token of the user:
                 logout everywhere;
  --client ID    every token issued to the client until now, and every
                 refresh token issued to it.

The entry is recorded in the auth server's store (--data, --store or
--config, as for 'gatehouse user'), so auth servers apply it at their next
reload and publish it again at start. With --redis URL (or authserver.redis
in the --config file) it is also published to every guard, gateway and auth
server that shares that Redis, which refuse the tokens within a second. If
publishing fails the command exits 2 and says so; the entry is stored, and
running it again is harmless. For example:

  gatehouse token revoke --sub 3f6c1e0a9b --store postgres://gatehouse@db/gatehouse \
      --redis rediss://gatehouse:PASSWORD@redis.internal:6380/0`,
		Example: `  gatehouse token revoke --jti 01J9Z8XKQ3M4 --until 2099-01-01T00:00:00Z
  gatehouse token revoke --sub 3f6c1e0a9b --config gatehouse.yaml
  gatehouse token revoke --client legacy-batch --data ./gatehouse-data`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := cmd.CommandPath()
			n := 0
			for _, v := range []string{jti, sub, clientID} {
				if v != "" {
					n++
				}
			}
			if n != 1 {
				return usagef("%s: give exactly one of --jti, --sub or --client", path)
			}
			span, err := revocationSpanOf(cmd, &sf)
			if err != nil {
				return err
			}
			now := time.Now()
			r := identity.Revocation{IssuedBefore: now, Until: now.Add(span)}
			switch {
			case jti != "":
				r.Kind, r.Value, r.IssuedBefore = identity.RevokeToken, jti, time.Time{}
				if until != "" {
					t, err := time.Parse(time.RFC3339, until)
					if err != nil {
						return usagef("%s: --until %s is not an RFC 3339 time like 2026-11-28T21:15:00Z", path, quoteShort(until))
					}
					// Verifiers accept a token until exp plus their leeway:
					// keep the entry that long, as the revoke endpoint does.
					if !t.Add(token.DefaultLeeway).After(now) {
						return usagef("%s: --until is in the past: a token that has expired needs no revocation", path)
					}
					r.Until = t.Add(token.DefaultLeeway)
				}
			case sub != "":
				r.Kind, r.Value = identity.RevokeSubject, sub
			default:
				r.Kind, r.Value = identity.RevokeClient, clientID
			}
			if until != "" && jti == "" {
				return usagef("%s: --until goes with --jti; subject and client entries are kept as long as tokens issued before now can live", path)
			}
			if err := r.Validate(); err != nil {
				var ee *revocation.EntryError
				if errors.As(err, &ee) {
					return usagef("%s: the value: %s", path, ee.Reason)
				}
				return usagef("%s: %v", path, err)
			}
			return withStore(cmd, &sf, false, func(st identity.Store) error {
				ctx := cmd.Context()
				sh, _, err := openAdminShared(cmd, &rf, &sf, st)
				if err != nil {
					return err
				}
				defer sh.close()
				if r.Kind == identity.RevokeSubject {
					warnUsername(ctx, cmd, st, r.Value)
				}
				// The refresh tokens first: a refresh between the two
				// writes would otherwise mint an access token issued after
				// the entry's IssuedBefore.
				var families error
				switch r.Kind {
				case identity.RevokeSubject:
					families = st.RevokeSubjectFamilies(ctx, r.Value, now)
				case identity.RevokeClient:
					families = st.RevokeClientFamilies(ctx, r.Value, now)
				}
				if err := st.AddRevocation(ctx, r); err != nil {
					return storeError(cmd, err)
				}
				if families != nil {
					return usagef("%s: the access tokens are revoked, but revoking the refresh tokens failed: %v", path, families)
				}
				if err := sh.publish(ctx, r); err != nil {
					return usagef("%s: recorded in the store, but publishing through Redis failed (%s); run the command again", path, publishError(err))
				}
				printf(e, "revoked %s %s: %s\n", kindName(r.Kind), r.Value, sh.note())
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&jti, "jti", "", "revoke the token with this jti")
	f.StringVar(&until, "until", "", "with --jti: the token's exp, RFC 3339 (default 24h from now)")
	f.StringVar(&sub, "sub", "", "revoke every token of this subject (user ID) issued until now")
	f.StringVar(&clientID, "client", "", "revoke every token issued to this client until now")
	sf.register(cmd)
	rf.register(cmd)
	return cmd
}

// revocationSpanOf is how long a subject or client entry must stay: the
// longest access token lifetime plus the verifiers' leeway. The --config
// file's authserver.access_token_ttl (and its clients' own) may exceed the
// 24h of revocationSpan, which holds without --config.
func revocationSpanOf(cmd *cobra.Command, sf *storeFlags) (time.Duration, error) {
	if sf.config == "" {
		return revocationSpan, nil
	}
	f, err := loadConfig(cmd, sf.config)
	if err != nil {
		return 0, err
	}
	span := revocationSpan
	if a := f.AuthServer; a != nil {
		span = max(span, a.AccessTokenTTL+token.DefaultLeeway)
		for _, c := range a.Clients {
			span = max(span, c.AccessTokenTTL+token.DefaultLeeway)
		}
	}
	return span, nil
}

// warnUsername warns when --sub names no user ID but a username: the
// entry matches the sub claim, a user's ID, and revokes nothing of that
// user.
func warnUsername(ctx context.Context, cmd *cobra.Command, st identity.Store, sub string) {
	if _, err := st.UserByID(ctx, sub); !errors.Is(err, identity.ErrNotFound) {
		return
	}
	u, err := st.UserByUsername(ctx, sub)
	if err != nil {
		return
	}
	cmd.PrintErrf("%s: warning: no user has the ID %q, but the user named %q has the ID %s; --sub takes the ID (the sub claim): run again with --sub %s\n",
		cmd.CommandPath(), sub, u.Username, u.ID, u.ID)
}

func kindName(k identity.RevocationKind) string {
	switch k {
	case identity.RevokeToken:
		return "token"
	case identity.RevokeSubject:
		return "subject"
	}
	return "client"
}

// publishError says why publishing failed without the URL.
func publishError(err error) string {
	// revocation wraps the client's error after ErrUnavailable: show that.
	if m, ok := err.(interface{ Unwrap() []error }); ok {
		if errs := m.Unwrap(); len(errs) > 1 {
			err = errs[len(errs)-1]
		}
	}
	msg := err.Error()
	if strings.Contains(msg, "@") {
		return "redis unreachable"
	}
	return strings.TrimPrefix(msg, "revocation: ")
}

// addTokenRevokeCmd adds 'token revoke' to the token command of root.
func addTokenRevokeCmd(root *cobra.Command, e *env) {
	for _, c := range root.Commands() {
		if c.Name() == "token" {
			c.AddCommand(newTokenRevokeCmd(e))
			return
		}
	}
}
