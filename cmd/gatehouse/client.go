package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse/identity"
)

// grants are the grant types a client may be given, as the token endpoint
// names them.
var grants = []string{identity.GrantAuthorizationCode, identity.GrantClientCredentials, identity.GrantRefreshToken,
	identity.GrantPassword, identity.GrantTokenExchange}

// maxClientAccessTTL is the longest access token lifetime of a client (the
// auth server caps longer ones).
const maxClientAccessTTL = 24 * time.Hour

func newClientCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "client",
		Short: "Add, list and delete the OAuth clients of the auth server",
		Long: `Manage the OAuth clients (services, browser apps, CLIs) of the auth server's
store: --data DIR (default ./gatehouse-data), --store postgres://..., or the
store of a gatehouse.yaml given by --config. A confidential client gets a
generated secret, printed once; the store keeps only its argon2id hash.`,
		Example: `  gatehouse client add svc-accounts --grants client_credentials --scopes accounts:read --audiences accounts
  gatehouse client list
  gatehouse client delete svc-accounts`,
		Args: noSubcommand,
		RunE: showHelp,
	}
	cmd.AddCommand(newClientAddCmd(e), newClientListCmd(e), newClientDeleteCmd(e))
	return cmd
}

func newClientAddCmd(e *env) *cobra.Command {
	var (
		sf                           storeFlags
		rf                           redisFlags // token_revoke.go
		name                         string
		grantList, scopes, audiences []string
		redirectURIs                 []string
		origins, logoutURIs          []string
		public, introspection        bool
		accessTTL, refreshTTL        time.Duration
	)
	cmd := &cobra.Command{
		Use:   "add ID --grants a,b [--public] [--redirect-uri URI ...] [--scopes a,b] [--audiences a,b] [--access-token-ttl 15m]",
		Short: "Add a client; a confidential one gets a secret, printed once",
		Long: `Add an OAuth client to the store (created when missing).

--grants takes authorization_code, client_credentials, refresh_token,
password and urn:ietf:params:oauth:grant-type:token-exchange. A confidential
client (the default) gets a random secret, printed once: it cannot be shown
again, as only its hash is stored. A --public client (a browser app or a
CLI) has no secret and must use PKCE; it cannot use client_credentials or
token exchange. authorization_code needs at least one --redirect-uri, which
must match exactly. --audiences lists the audiences the client may ask
tokens for, the first being the default; --scopes the scopes it may ask.
--introspection lets it introspect every token of the server; without it,
a client introspects only its own tokens and access tokens for it.`,
		Example: `  gatehouse client add svc-accounts --grants client_credentials --scopes accounts:read --audiences accounts
  gatehouse client add spa --public --grants authorization_code,refresh_token --redirect-uri http://127.0.0.1:5173/callback --scopes openid,profile,email,offline_access
  gatehouse client add cli --grants password,refresh_token --scopes openid,orders:read --audiences orders --access-token-ttl 5m`,
		Args: oneArg("client ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, id := cmd.CommandPath(), args[0]
			if err := checkName(cmd, "client ID", id); err != nil {
				return err
			}
			c := &identity.Client{ID: id, Name: name, Public: public, Grants: cleanList(grantList),
				RedirectURIs: redirectURIs, Scopes: cleanList(scopes), Audiences: cleanList(audiences),
				AccessTokenTTL: accessTTL, RefreshTokenTTL: refreshTTL,
				AllowedOrigins: cleanList(origins), PostLogoutRedirectURIs: logoutURIs, Introspection: introspection}
			if err := checkClient(c); err != nil {
				return usagef("%s: %v", path, err)
			}
			secret := ""
			if !public {
				secret = identity.NewSecret()
				hash, err := identity.HashSecret(secret)
				if err != nil {
					return usagef("%s: %v", path, err)
				}
				c.SecretHash = hash
			}
			return withStore(cmd, &sf, true, func(st identity.Store) error {
				// With --redis: drop what the shared identity cache remembers
				// about the id (token_revoke.go).
				sh, st, err := openAdminShared(cmd, &rf, &sf, st)
				if err != nil {
					return err
				}
				defer sh.close()
				err = st.CreateClient(cmd.Context(), c)
				if errors.Is(err, identity.ErrConflict) {
					return usagef("%s: client %s already exists; delete it first with 'gatehouse client delete' to replace it", path, quoteShort(id))
				}
				if err != nil {
					return storeError(cmd, err)
				}
				if public {
					printf(e, "added public client %s (no secret; it must use PKCE)\n", id)
					return nil
				}
				printf(e, "added confidential client %s\n", id)
				printf(e, "client_secret: %s\n", secret)
				printf(e, "This secret is shown only this once and cannot be shown again: store it now (gatehouse keeps only its hash).\n")
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&grantList, "grants", nil, "grant types, comma-separated (required): "+strings.Join(grants, ", "))
	f.BoolVar(&public, "public", false, "a public client: no secret, PKCE required (browser apps, CLIs)")
	f.BoolVar(&introspection, "introspection", false, "the client may introspect every token of the server (RFC 7662 §4), not only its own and those whose aud names it")
	f.StringArrayVar(&redirectURIs, "redirect-uri", nil, "an exact redirect URI of authorization_code (repeat for several)")
	f.StringArrayVar(&origins, "allowed-origin", nil, "a browser origin (scheme://host[:port]) answered CORS beside those of the redirect URIs (repeat for several)")
	f.StringArrayVar(&logoutURIs, "post-logout-redirect-uri", nil, "an exact URI RP-initiated logout may return to (repeat for several)")
	f.StringSliceVar(&scopes, "scopes", nil, "scopes the client may ask, comma-separated")
	f.StringSliceVar(&audiences, "audiences", nil, "audiences the client may ask tokens for, comma-separated; the first is the default")
	f.DurationVar(&accessTTL, "access-token-ttl", 0, "access token lifetime of this client, at most 24h (default: the server's)")
	f.DurationVar(&refreshTTL, "refresh-token-ttl", 0, "refresh token lifetime of this client (default: the server's)")
	f.StringVar(&name, "name", "", "display name")
	sf.register(cmd)
	rf.register(cmd)
	_ = cmd.MarkFlagRequired("grants")
	return cmd
}

// checkClient refuses a client that could never get a token.
func checkClient(c *identity.Client) error {
	if len(c.Grants) == 0 {
		return errors.New("--grants needs at least one grant type")
	}
	for _, g := range c.Grants {
		if !slices.Contains(grants, g) {
			return fmt.Errorf("unknown grant type %s: use %s", quoteShort(g), strings.Join(grants, ", "))
		}
	}
	if c.Public && c.Introspection {
		return errors.New("a public client cannot introspect: introspection needs a client that authenticates")
	}
	if c.Public && (c.AllowsGrant(identity.GrantClientCredentials) || c.AllowsGrant(identity.GrantTokenExchange)) {
		return errors.New("a public client cannot use client_credentials or token exchange: it has no secret to prove who it is")
	}
	if c.AllowsGrant(identity.GrantAuthorizationCode) && len(c.RedirectURIs) == 0 {
		return errors.New("authorization_code needs at least one --redirect-uri")
	}
	for _, r := range c.RedirectURIs {
		if err := identity.CheckRedirectURI(r); err != nil {
			return fmt.Errorf("--redirect-uri %v", err)
		}
	}
	for _, o := range c.AllowedOrigins {
		if _, err := identity.ParseOrigin(o); err != nil {
			return fmt.Errorf("--allowed-origin %v", err)
		}
	}
	for _, r := range c.PostLogoutRedirectURIs {
		if err := identity.CheckRedirectURI(r); err != nil {
			return fmt.Errorf("--post-logout-redirect-uri %v", err)
		}
	}
	if c.AccessTokenTTL < 0 || c.RefreshTokenTTL < 0 {
		return errors.New("token lifetimes must be positive, like 15m")
	}
	if c.AccessTokenTTL > maxClientAccessTTL {
		return fmt.Errorf("--access-token-ttl %s is longer than %s; access tokens are meant to be short-lived (use a refresh token)", c.AccessTokenTTL, maxClientAccessTTL)
	}
	return nil
}

func newClientListCmd(e *env) *cobra.Command {
	var sf storeFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the clients (never their secrets or hashes)",
		Example: `  gatehouse client list
  gatehouse client list --config gatehouse.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, &sf, false, func(st identity.Store) error {
				clients, err := st.ListClients(cmd.Context())
				if err != nil {
					return storeError(cmd, err)
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tTYPE\tGRANTS\tSCOPES\tAUDIENCES\tREDIRECT_URIS\tACCESS_TTL")
				for _, c := range clients {
					typ := "confidential"
					if c.Public {
						typ = "public"
					}
					if c.Introspection {
						typ += "+introspection"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, typ, cell(c.Grants...), cell(c.Scopes...),
						cell(c.Audiences...), cell(c.RedirectURIs...), durationCell(c.AccessTokenTTL))
				}
				return tw.Flush()
			})
		},
	}
	sf.register(cmd)
	return cmd
}

func newClientDeleteCmd(e *env) *cobra.Command {
	var (
		sf storeFlags
		rf redisFlags // token_revoke.go
	)
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a client and revoke its tokens",
		Long: `Delete a client: it can no longer authenticate, so it gets no new tokens and
its refresh tokens stop working at once; its access tokens issued until now
go on the deny list, which running auth servers apply at their next reload
(within 30s). With --redis URL (or authserver.redis in --config) the
revocation is also published to every guard, gateway and auth server that
shares that Redis, which refuse the tokens within a second; without it,
services that verify tokens themselves accept an access token until it
expires.`,
		Example: `  gatehouse client delete legacy-batch`,
		Args:    oneArg("client ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, id := cmd.CommandPath(), args[0]
			return withStore(cmd, &sf, false, func(st identity.Store) error {
				ctx := cmd.Context()
				// With --redis: the delete invalidates the shared identity
				// cache, and the revocation is published (token_revoke.go).
				sh, st, err := openAdminShared(cmd, &rf, &sf, st)
				if err != nil {
					return err
				}
				defer sh.close()
				err = st.DeleteClient(ctx, id)
				if errors.Is(err, identity.ErrNotFound) {
					return usagef("%s: no client %s; 'gatehouse client list' shows the clients", path, quoteShort(id))
				}
				if err != nil {
					return storeError(cmd, err)
				}
				span, err := revocationSpanOf(cmd, &sf)
				if err != nil {
					return err
				}
				now := time.Now()
				// Its refresh tokens first (a client recreated with this id
				// must not inherit them), then the deny entry.
				if err := st.RevokeClientFamilies(ctx, id, now); err != nil {
					return usagef("%s: client %s is deleted, but revoking its refresh tokens failed: %v", path, id, err)
				}
				r := identity.Revocation{Kind: identity.RevokeClient, Value: id, IssuedBefore: now, Until: now.Add(span)}
				if err := st.AddRevocation(ctx, r); err != nil {
					return usagef("%s: client %s is deleted, but revoking its access tokens failed: %v", path, id, err)
				}
				if err := sh.publish(ctx, r); err != nil {
					return usagef("%s: client %s is deleted and its tokens revoked in the store, but publishing through Redis failed (%s); run 'gatehouse token revoke --client' with --redis", path, id, publishError(err))
				}
				if sh.enabled() {
					printf(e, "deleted client %s: it can no longer get or refresh tokens; its access tokens are on the deny list, %s\n", id, publishedNote)
					return nil
				}
				printf(e, "deleted client %s: it can no longer get or refresh tokens; %s\n", id, reloadNote)
				return nil
			})
		},
	}
	sf.register(cmd)
	rf.register(cmd)
	return cmd
}
