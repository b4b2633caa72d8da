package main

import (
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse/identity"
)

func newUserCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Add, list, disable and enable the users of the auth server",
		Long: `Manage the users of the auth server's store: the embedded SQLite store in
--data DIR (default ./gatehouse-data), a PostgreSQL store given by
--store postgres://..., or the store of a gatehouse.yaml given by --config.
Changes reach running auth servers at once (users are read per request),
and revocations at their next reload, within 30s.`,
		Example: `  gatehouse user add alice --email alice@acme.test --org acme --roles admin --password-stdin < password.txt
  gatehouse user list
  gatehouse user disable alice`,
		Args: noSubcommand,
		RunE: showHelp,
	}
	cmd.AddCommand(newUserAddCmd(e), newUserListCmd(e), newUserDisableCmd(e))
	return cmd
}

func newUserAddCmd(e *env) *cobra.Command {
	var (
		sf                storeFlags
		rf                redisFlags // token_revoke.go
		email, name, org  string
		groups, roles     []string
		passwordFromStdin bool
	)
	cmd := &cobra.Command{
		Use:   "add USERNAME --email EMAIL [--name NAME] [--org ORG] [--groups a,b] [--roles a,b] [--password-stdin]",
		Short: "Add a user",
		Long: `Add a user to the store (created when missing). The password is read from
stdin with --password-stdin (one line; never from the command line, where
other users of the machine could read it): at least 8 characters and none of
the 10,000 most common passwords, compared without regard to case. Without
--password-stdin a random password is generated and printed once. Only its
argon2id hash is stored.

--org must name an organization of the store when the store has any (they
come from the organizations of gatehouse.yaml). Roles, groups, org and email
go into the user's access tokens.`,
		Example: `  gatehouse user add alice --email alice@acme.test --org acme --roles admin --password-stdin < password.txt
  printf '%s\n' 'correct horse battery staple' | gatehouse user add bob --email bob@acme.test --groups support --password-stdin
  gatehouse user add carol --email carol@acme.test --name "Carol Smith" --data ./gatehouse-data`,
		Args: oneArg("USERNAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, username := cmd.CommandPath(), args[0]
			if err := checkName(cmd, "username", username); err != nil {
				return err
			}
			if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
				return usagef("%s: --email %s is not an e-mail address like alice@acme.test", path, quoteShort(email))
			}
			password, generated := "", false
			if passwordFromStdin {
				var err error
				if password, err = readPassword(e, cmd); err != nil {
					return err
				}
				if err := identity.CheckPassword(password); err != nil {
					return usagef("%s: %s", path, strings.TrimPrefix(err.Error(), "identity: "))
				}
			} else {
				password, generated = identity.NewSecret(), true
			}
			hash, err := identity.HashPassword(password)
			if err != nil {
				return usagef("%s: %s", path, strings.TrimPrefix(err.Error(), "identity: "))
			}
			u := &identity.User{Username: username, Email: email, Name: name, PasswordHash: hash,
				Org: org, Groups: cleanList(groups), Roles: cleanList(roles)}
			return withStore(cmd, &sf, true, func(st identity.Store) error {
				ctx := cmd.Context()
				// With --redis: drop what the shared identity cache remembers
				// about the name (token_revoke.go).
				sh, st, err := openAdminShared(cmd, &rf, &sf, st)
				if err != nil {
					return err
				}
				defer sh.close()
				if org != "" {
					orgs, err := st.ListOrganizations(ctx)
					if err != nil {
						return storeError(cmd, err)
					}
					if len(orgs) > 0 && !slices.ContainsFunc(orgs, func(o identity.Organization) bool { return o.ID == org }) {
						return usagef("%s: organization %s is not in the store; known: %s", path, quoteShort(org), orgList(orgs))
					}
				}
				err = st.CreateUser(ctx, u)
				if errors.Is(err, identity.ErrConflict) {
					return usagef("%s: user %s already exists; 'gatehouse user list' shows the users", path, quoteShort(username))
				}
				if err != nil {
					return storeError(cmd, err)
				}
				printf(e, "added user %s (id %s)\n", u.Username, u.ID)
				if generated {
					printf(e, "password: %s\n", password)
					printf(e, "This password is shown only this once and cannot be shown again: gatehouse keeps only its hash.\n")
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&email, "email", "", "e-mail address (required)")
	f.StringVar(&name, "name", "", "display name")
	f.StringVar(&org, "org", "", "organization (tenant) ID")
	f.StringSliceVar(&groups, "groups", nil, "groups, comma-separated")
	f.StringSliceVar(&roles, "roles", nil, "roles, comma-separated")
	f.BoolVar(&passwordFromStdin, "password-stdin", false, "read the password from stdin (else one is generated and printed once)")
	sf.register(cmd)
	rf.register(cmd)
	_ = cmd.MarkFlagRequired("email")
	return cmd
}

// readPassword reads the one-line password of --password-stdin.
func readPassword(e *env, cmd *cobra.Command) (string, error) {
	path := cmd.CommandPath()
	if f, ok := e.stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return "", usagef("%s: --password-stdin reads the password from a pipe or a file (e.g. < password.txt), not from a terminal, which would show it", path)
		}
	}
	if e.stdin == nil {
		return "", usagef("%s: --password-stdin: no stdin to read from", path)
	}
	data, err := io.ReadAll(io.LimitReader(e.stdin, identity.MaxPasswordBytes+3))
	if err != nil {
		return "", usagef("%s: cannot read the password from stdin: %v", path, err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	switch {
	case len(pw) > identity.MaxPasswordBytes:
		return "", usagef("%s: the password on stdin is longer than %d bytes", path, identity.MaxPasswordBytes)
	case strings.ContainsAny(pw, "\r\n"):
		return "", usagef("%s: stdin holds more than one line; pipe the password alone", path)
	case pw == "":
		return "", usagef("%s: no password on stdin: pipe it, e.g. < password.txt", path)
	}
	return pw, nil
}

func orgList(orgs []identity.Organization) string {
	ids := make([]string, len(orgs))
	for i, o := range orgs {
		ids[i] = o.ID
	}
	return strings.Join(ids, ", ")
}

func newUserListCmd(e *env) *cobra.Command {
	var sf storeFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the users (never their password hashes)",
		Example: `  gatehouse user list
  gatehouse user list --config gatehouse.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, &sf, false, func(st identity.Store) error {
				users, err := st.ListUsers(cmd.Context())
				if err != nil {
					return storeError(cmd, err)
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "USERNAME\tID\tEMAIL\tORG\tGROUPS\tROLES\tDISABLED")
				for _, u := range users {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.Username, u.ID, cell(u.Email), cell(u.Org),
						cell(u.Groups...), cell(u.Roles...), yesNo(u.Disabled))
				}
				return tw.Flush()
			})
		},
	}
	sf.register(cmd)
	return cmd
}

func newUserDisableCmd(e *env) *cobra.Command {
	var (
		sf     storeFlags
		rf     redisFlags // token_revoke.go
		enable bool
	)
	cmd := &cobra.Command{
		Use:   "disable USERNAME [--enable]",
		Short: "Disable a user and revoke its tokens (or enable it again)",
		Long: `Disable a user: it can no longer log in or refresh, every refresh token of
the user is revoked at once, and its access tokens issued until now go on
the deny list, which running auth servers apply at their next reload
(within 30s). With --redis URL (or authserver.redis in --config) the
revocation is also published to every guard, gateway and auth server that
shares that Redis, which refuse the tokens within a second, and their
identity caches drop the user; without it, services that verify tokens
themselves accept an access token until it expires. --enable lets the user
log in again; revoked tokens stay revoked.`,
		Example: `  gatehouse user disable dave
  gatehouse user disable dave --enable`,
		Args: oneArg("USERNAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, username := cmd.CommandPath(), args[0]
			return withStore(cmd, &sf, false, func(st identity.Store) error {
				ctx := cmd.Context()
				// With --redis: writes invalidate the shared identity cache,
				// and the revocation is published (token_revoke.go).
				sh, st, err := openAdminShared(cmd, &rf, &sf, st)
				if err != nil {
					return err
				}
				defer sh.close()
				u, err := st.SetUserDisabled(ctx, username, !enable)
				if errors.Is(err, identity.ErrNotFound) {
					return usagef("%s: no user %s; 'gatehouse user list' shows the users", path, quoteShort(username))
				}
				if err != nil {
					return storeError(cmd, err)
				}
				if enable {
					printf(e, "enabled user %s\n", u.Username)
					return nil
				}
				span, err := revocationSpanOf(cmd, &sf)
				if err != nil {
					return err
				}
				now := time.Now()
				if err := st.RevokeSubjectFamilies(ctx, u.ID, now); err != nil {
					return usagef("%s: user %s is disabled, but revoking its refresh tokens failed: %v", path, u.Username, err)
				}
				r := identity.Revocation{Kind: identity.RevokeSubject, Value: u.ID, IssuedBefore: now, Until: now.Add(span)}
				if err := st.AddRevocation(ctx, r); err != nil {
					return usagef("%s: user %s is disabled, but revoking its access tokens failed: %v", path, u.Username, err)
				}
				if err := sh.publish(ctx, r); err != nil {
					return usagef("%s: user %s is disabled and its tokens revoked in the store, but publishing through Redis failed (%s); run the command again", path, u.Username, publishError(err))
				}
				if sh.enabled() {
					printf(e, "disabled user %s: its refresh tokens are revoked; its access tokens are on the deny list, %s\n", u.Username, publishedNote)
					return nil
				}
				printf(e, "disabled user %s: its refresh tokens are revoked; %s\n", u.Username, reloadNote)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&enable, "enable", false, "enable the user again instead")
	sf.register(cmd)
	rf.register(cmd)
	return cmd
}
