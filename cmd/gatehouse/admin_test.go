package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
)

// openTestStore opens the SQLite store of a data folder the commands wrote.
func openTestStore(t *testing.T, data string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(data, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// tableRow returns the fields of the row of a table whose first column is
// key, or nil.
func tableRow(out, key string) []string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == key {
			return f
		}
	}
	return nil
}

func TestUserAddListDisable(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	const password = "correct horse battery staple"
	out := mustGH(t, password+"\n", "user", "add", "alice", "--email", "alice@acme.test", "--name", "Alice",
		"--org", "acme", "--groups", "admin, ops", "--roles", "admin,user,admin", "--password-stdin", "--data", data)
	if !strings.HasPrefix(out, "added user alice (id ") || strings.Contains(out, password) {
		t.Fatalf("user add printed %q", out)
	}
	gen := mustGH(t, "", "user", "add", "bob", "--email", "bob@acme.test", "--data", data)
	m := regexp.MustCompile(`(?m)^password: (\S+)$`).FindAllStringSubmatch(gen, -1)
	if len(m) != 1 || !strings.Contains(gen, "shown only this once") {
		t.Fatalf("user add without --password-stdin printed %q, want the generated password once", gen)
	}

	st := openTestStore(t, data)
	ctx := context.Background()
	alice, err := st.UserByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := identity.VerifyPassword(alice.PasswordHash, password); !ok {
		t.Error("alice's stored hash does not verify the password given on stdin")
	}
	if !slices.Equal(alice.Roles, []string{"admin", "user"}) || !slices.Equal(alice.Groups, []string{"admin", "ops"}) || alice.Org != "acme" {
		t.Errorf("alice stored as %+v", alice)
	}
	bob, err := st.UserByUsername(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := identity.VerifyPassword(bob.PasswordHash, m[0][1]); !ok {
		t.Error("bob's stored hash does not verify the generated password")
	}

	list := mustGH(t, "", "user", "list", "--data", data)
	if strings.Contains(list, "$argon2id") || strings.Contains(list, m[0][1]) {
		t.Fatalf("user list shows a hash or a password:\n%s", list)
	}
	want := []string{"alice", alice.ID, "alice@acme.test", "acme", "admin,ops", "admin,user", "no"}
	if got := tableRow(list, "alice"); !slices.Equal(got, want) {
		t.Errorf("user list row %q, want %q\n%s", got, want, list)
	}
	if got := tableRow(list, "USERNAME"); !slices.Equal(got, []string{"USERNAME", "ID", "EMAIL", "ORG", "GROUPS", "ROLES", "DISABLED"}) {
		t.Errorf("user list header %q", got)
	}

	// A refresh token family of alice, to see it revoked by disable.
	now := time.Now()
	if err := st.SaveRefreshToken(ctx, &identity.RefreshToken{Hash: identity.HashToken(identity.NewSecret()), FamilyID: "fam-alice",
		ClientID: "cli", Subject: alice.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	out = mustGH(t, "", "user", "disable", "alice", "--data", data)
	if !strings.HasPrefix(out, "disabled user alice") {
		t.Errorf("user disable printed %q", out)
	}
	if got := tableRow(mustGH(t, "", "user", "list", "--data", data), "alice"); got[len(got)-1] != "yes" {
		t.Errorf("after disable, alice's row is %q", got)
	}
	if revoked, err := st.FamilyRevoked(ctx, "fam-alice"); err != nil || !revoked {
		t.Errorf("alice's refresh family revoked=%v err=%v, want revoked", revoked, err)
	}
	revs, err := st.ListRevocations(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(revs, func(r identity.Revocation) bool {
		return r.Kind == identity.RevokeSubject && r.Value == alice.ID && !r.IssuedBefore.Before(now.Truncate(time.Second)) &&
			r.Until.After(time.Now().Add(24*time.Hour))
	}) {
		t.Errorf("no subject revocation of alice for 24h in %+v", revs)
	}

	mustGH(t, "", "user", "disable", "alice", "--enable", "--data", data)
	if got := tableRow(mustGH(t, "", "user", "list", "--data", data), "alice"); got[len(got)-1] != "no" {
		t.Errorf("after --enable, alice's row is %q", got)
	}
}

func TestClientAddPrintsSecretOnce(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	out := mustGH(t, "", "client", "add", "svc-accounts", "--grants", "client_credentials", "--scopes", "accounts:read",
		"--audiences", "accounts,ledger", "--access-token-ttl", "5m", "--data", data)
	m := regexp.MustCompile(`(?m)^client_secret: (\S+)$`).FindAllStringSubmatch(out, -1)
	if len(m) != 1 || !strings.Contains(out, "cannot be shown again") {
		t.Fatalf("client add printed %q, want the secret once and the note", out)
	}
	secret := m[0][1]
	if strings.Count(out, secret) != 1 {
		t.Errorf("the secret appears %d times", strings.Count(out, secret))
	}
	mustGH(t, "", "client", "add", "spa", "--public", "--grants", "authorization_code,refresh_token",
		"--redirect-uri", "http://127.0.0.1:5173/callback", "--redirect-uri", "http://localhost:5173/callback", "--data", data)

	st := openTestStore(t, data)
	c, err := st.ClientByID(context.Background(), "svc-accounts")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := identity.VerifyPassword(c.SecretHash, secret); !ok || c.AccessTokenTTL != 5*time.Minute || c.Audiences[1] != "ledger" {
		t.Errorf("stored client %+v; secret verifies: %v", c, ok)
	}

	list := mustGH(t, "", "client", "list", "--data", data)
	if strings.Contains(list, secret) || strings.Contains(list, "$argon2id") {
		t.Fatalf("client list shows a secret or hash:\n%s", list)
	}
	if got, want := tableRow(list, "svc-accounts"), []string{"svc-accounts", "confidential", "client_credentials", "accounts:read", "accounts,ledger", "-", "5m0s"}; !slices.Equal(got, want) {
		t.Errorf("row %q, want %q", got, want)
	}
	if got := tableRow(list, "spa"); len(got) < 6 || got[1] != "public" || got[5] != "http://127.0.0.1:5173/callback,http://localhost:5173/callback" {
		t.Errorf("spa row %q", got)
	}

	out = mustGH(t, "", "client", "delete", "svc-accounts", "--data", data)
	if !strings.HasPrefix(out, "deleted client svc-accounts") {
		t.Errorf("client delete printed %q", out)
	}
	if tableRow(mustGH(t, "", "client", "list", "--data", data), "svc-accounts") != nil {
		t.Error("the deleted client is still listed")
	}
	revs, err := st.ListRevocations(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(revs, func(r identity.Revocation) bool { return r.Kind == identity.RevokeClient && r.Value == "svc-accounts" }) {
		t.Errorf("no client revocation in %+v", revs)
	}
}

func TestKeysRotate(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	mustGH(t, "", "client", "add", "svc", "--grants", "client_credentials", "--data", data)
	before := time.Now()
	out := mustGH(t, "", "keys", "rotate", "--alg", "EdDSA", "--data", data)
	m := regexp.MustCompile(`^new EdDSA signing key (\S+): published from the auth servers' next reload, signs from (\S+) \(in 6m0s\)\n`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "keep verifying until they expire") {
		t.Fatalf("keys rotate printed %q", out)
	}
	ks, err := openTestStore(t, data).ListSigningKeys(context.Background())
	if err != nil || len(ks) != 1 || ks[0].ID != m[1] || !ks[0].RetiredAt.IsZero() {
		t.Fatalf("stored keys %v, %v", ks, err)
	}
	if from := ks[0].SignFrom; from.Before(before.Add(authserver.DefaultKeyPublishAhead-time.Second)) || m[2] != from.UTC().Format(time.RFC3339) {
		t.Errorf("the key signs from %s (printed %s), want %s after the rotation", from, m[2], authserver.DefaultKeyPublishAhead)
	}
	// --publish-ahead 0: it signs at once, the previous key retires now.
	out = mustGH(t, "", "keys", "rotate", "--publish-ahead", "0", "--data", data)
	if !strings.Contains(out, "(in 0s)") {
		t.Errorf("keys rotate --publish-ahead 0 printed %q", out)
	}
	if r := gh(t, "", "keys", "rotate", "--publish-ahead", "-1m", "--data", data); r.code != 2 || !strings.Contains(r.stderr, "--publish-ahead -1m0s is negative") {
		t.Errorf("negative --publish-ahead: exit %d %q", r.code, r.stderr)
	}
	if strings.Contains(out, string(ks[0].JWK)) || strings.Contains(out, `"d"`) {
		t.Error("keys rotate printed the private key")
	}
}

func TestAdminRefusals(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	mustGH(t, "pw-0123456789\n", "user", "add", "alice", "--email", "alice@acme.test", "--password-stdin", "--data", data)
	mustGH(t, "", "client", "add", "svc", "--grants", "client_credentials", "--data", data)
	if err := openTestStore(t, data).PutOrganization(context.Background(), identity.Organization{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	for _, tt := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"duplicate user", "pw-0123456789\n", []string{"user", "add", "alice", "--email", "a@b.test", "--password-stdin", "--data", data}, `user "alice" already exists`},
		{"duplicate client", "", []string{"client", "add", "svc", "--grants", "client_credentials", "--data", data}, `client "svc" already exists`},
		{"user add without email", "", []string{"user", "add", "carol", "--data", data}, `required flag(s) "email" not set`},
		{"user add bad email", "", []string{"user", "add", "carol", "--email", "carol", "--data", data}, "not an e-mail address"},
		{"user add two names", "", []string{"user", "add", "carol", "dave", "--email", "c@d.test", "--data", data}, "takes one USERNAME, got 2"},
		{"user add empty stdin", "", []string{"user", "add", "carol", "--email", "c@d.test", "--password-stdin", "--data", data}, "no password on stdin"},
		{"user add two lines", "a\nb\n", []string{"user", "add", "carol", "--email", "c@d.test", "--password-stdin", "--data", data}, "more than one line"},
		{"user add short password", "k7#Qz!p\n", []string{"user", "add", "carol", "--email", "c@d.test", "--password-stdin", "--data", data}, "the password is shorter than 8 characters: choose a longer one"},
		{"user add common password", "Password1\n", []string{"user", "add", "carol", "--email", "c@d.test", "--password-stdin", "--data", data}, "the password is one of the 10,000 most common passwords"},
		{"user add space in name", "", []string{"user", "add", "ca rol", "--email", "c@d.test", "--data", data}, "without spaces"},
		{"user add unknown flag", "", []string{"user", "add", "carol", "--email", "c@d.test", "--password", "x", "--data", data}, "unknown flag: --password"},
		{"user add unknown org", "", []string{"user", "add", "carol", "--email", "c@d.test", "--org", "globex", "--data", data}, `organization "globex" is not in the store; known: acme`},
		{"user disable unknown", "", []string{"user", "disable", "zed", "--data", data}, `no user "zed"`},
		{"user list missing store", "", []string{"user", "list", "--data", missing}, "no gatehouse store in " + missing},
		{"user list two stores", "", []string{"user", "list", "--data", data, "--config", "gatehouse.yaml"}, "give one of --data, --store or --config"},
		{"user list store not postgres", "", []string{"user", "list", "--store", "mysql://x"}, "--store must be a postgres:// URL"},
		{"client add without grants", "", []string{"client", "add", "c2", "--data", data}, `required flag(s) "grants" not set`},
		{"client add unknown grant", "", []string{"client", "add", "c2", "--grants", "implicit", "--data", data}, `unknown grant type "implicit"`},
		{"client add public cc", "", []string{"client", "add", "c2", "--public", "--grants", "client_credentials", "--data", data}, "public client cannot use client_credentials"},
		{"client add code without redirect", "", []string{"client", "add", "c2", "--grants", "authorization_code", "--data", data}, "needs at least one --redirect-uri"},
		{"client add relative redirect", "", []string{"client", "add", "c2", "--grants", "authorization_code", "--redirect-uri", "/cb", "--data", data}, `--redirect-uri "/cb" must be absolute`},
		{"client add javascript redirect", "", []string{"client", "add", "c2", "--grants", "authorization_code", "--redirect-uri", "javascript://x/%0aalert(1)", "--data", data}, "the scheme javascript is not a place"},
		{"client add origin with a path", "", []string{"client", "add", "c2", "--public", "--grants", "authorization_code", "--redirect-uri", "https://a.example/cb", "--allowed-origin", "https://a.example/x", "--data", data}, "--allowed-origin origin \"https://a.example/x\": an origin has no path"},
		{"client add relative post-logout URI", "", []string{"client", "add", "c2", "--public", "--grants", "authorization_code", "--redirect-uri", "https://a.example/cb", "--post-logout-redirect-uri", "/bye", "--data", data}, `--post-logout-redirect-uri "/bye" must be absolute`},
		{"client add bad ttl", "", []string{"client", "add", "c2", "--grants", "client_credentials", "--access-token-ttl", "soon", "--data", data}, "invalid argument"},
		{"client add long ttl", "", []string{"client", "add", "c2", "--grants", "client_credentials", "--access-token-ttl", "48h", "--data", data}, "longer than 24h0m0s"},
		{"client delete unknown", "", []string{"client", "delete", "zed", "--data", data}, `no client "zed"`},
		{"client delete no id", "", []string{"client", "delete", "--data", data}, "takes one client ID, got 0"},
		{"keys rotate HS256", "", []string{"keys", "rotate", "--alg", "HS256", "--data", data}, `--alg "HS256" is not supported`},
		{"keys rotate missing store", "", []string{"keys", "rotate", "--data", missing}, "no gatehouse store"},
		{"config without file", "", []string{"client", "list", "--config", filepath.Join(dir, "nope.yaml")}, "cannot read the configuration"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := gh(t, tt.stdin, tt.args...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want 2; stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
			assertOneLine(t, r.stderr)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tt.want)
			}
		})
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a command that needs an existing store created %s", missing)
	}
}

func TestStoreURLNeverPrinted(t *testing.T) {
	// Port 1 refuses connections: opening fails, and the message must not
	// carry the password.
	r := gh(t, "", "user", "list", "--store", "postgres://gatehouse:hunter2-secret@127.0.0.1:1/gatehouse?connect_timeout=2")
	if r.code != exitUsage {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	assertOneLine(t, r.stderr)
	if strings.Contains(r.stderr, "hunter2") || !strings.Contains(r.stderr, "cannot open the store at postgres://gatehouse:xxxxx@127.0.0.1:1") {
		t.Errorf("stderr %q", r.stderr)
	}
}
