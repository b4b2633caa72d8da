package main

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/internal/redistest"
	"github.com/gatehousehq/gatehouse/redisconn"
	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/revocation/redislist"
	"github.com/gatehousehq/gatehouse/token"
)

// revokeRedisURL is the test Redis on database 9: the commands use the
// default key prefix, so this package keeps its keys apart from the other
// packages' (channels are global, but entries carry random values).
func revokeRedisURL(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/9"
	return u.String()
}

// listenList subscribes to the default deny list on url, as a guard does.
func listenList(t *testing.T, raw string) *revocation.List {
	t.Helper()
	client, err := redisconn.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		client.Del(ctx, "{gatehouse:revocation}:entries", "{gatehouse:revocation}:expiry")
		client.Close()
	})
	l, err := redislist.New(client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestTokenRevokePublishesAndRecords(t *testing.T) {
	rurl := revokeRedisURL(t)
	list := listenList(t, rurl)
	data := filepath.Join(t.TempDir(), "data")
	mustGH(t, "", "user", "add", "alice", "--email", "alice@acme.test", "--data", data)
	mustGH(t, "", "client", "add", "batch", "--grants", "client_credentials", "--data", data)
	st := openTestStore(t, data)
	ctx := context.Background()
	alice, err := st.UserByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	jti := "jti-" + strings.ToLower(time.Now().Format("150405.000000"))
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	issued := token.At(time.Now().Add(-time.Minute))

	tests := []struct {
		name   string
		args   []string
		claims token.Claims
		kind   identity.RevocationKind
		value  string
	}{
		{"jti", []string{"token", "revoke", "--jti", jti, "--until", until}, token.Claims{ID: jti, Subject: "x", IssuedAt: issued}, identity.RevokeToken, jti},
		{"user disable", []string{"user", "disable", "alice"}, token.Claims{ID: "t2", Subject: alice.ID, IssuedAt: issued}, identity.RevokeSubject, alice.ID},
		{"client delete", []string{"client", "delete", "batch"}, token.Claims{ID: "t3", Subject: "svc", ClientID: "batch", IssuedAt: issued}, identity.RevokeClient, "batch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.claims
			if r, _ := list.Revoked(ctx, &c); r {
				t.Fatal("revoked before the command")
			}
			out := mustGH(t, "", append(tt.args, "--data", data, "--redis", rurl)...)
			if !strings.Contains(out, "published through Redis") {
				t.Fatalf("printed %q", out)
			}
			redistest.Eventually(t, time.Second, "a subscribed list revokes it", func() bool {
				r, _ := list.Revoked(ctx, &c)
				return r
			})
			revs, err := st.ListRevocations(ctx, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, r := range revs {
				found = found || (r.Kind == tt.kind && r.Value == tt.value)
			}
			if !found {
				t.Fatalf("not recorded in the store: %+v", revs)
			}
		})
	}
	// Without --redis: recorded, with a note that says who sees it.
	out := mustGH(t, "", "token", "revoke", "--sub", "someone", "--data", data)
	if !strings.Contains(out, "recorded in the store") {
		t.Fatalf("printed %q", out)
	}
}

// The cached identity entries that running processes hold are invalidated
// by an admin command given --redis.
func TestUserDisableInvalidatesTheSharedCache(t *testing.T) {
	rurl := revokeRedisURL(t)
	listenList(t, rurl)
	data := filepath.Join(t.TempDir(), "data")
	// A name of its own: the cache keys of database 9 outlive a run.
	carol := "carol-" + strings.ToLower(rand.Text()[:10])
	mustGH(t, "", "user", "add", carol, "--email", "carol@acme.test", "--data", data)
	st := openTestStore(t, data)
	sh, err := openShared(context.Background(), rurl, sharedOptions{wait: 5 * time.Second}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer sh.close()
	running, err := sh.wrapStore(st) // what a running auth server reads through
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	u, err := running.UserByUsername(ctx, carol)
	if err != nil || u.Disabled {
		t.Fatalf("before the command: disabled %v, %v", u != nil && u.Disabled, err)
	}
	mustGH(t, "", "user", "disable", carol, "--data", data, "--redis", rurl)
	redistest.Eventually(t, time.Second, "the running process sees carol disabled", func() bool {
		u, err := running.UserByUsername(ctx, carol)
		return err == nil && u.Disabled
	})
}

func TestTokenRevokeRefusals(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	mustGH(t, "", "user", "add", "alice", "--email", "alice@acme.test", "--data", data)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"none", []string{}, "exactly one of"},
		{"two", []string{"--jti", "a", "--sub", "b"}, "exactly one of"},
		{"bad until", []string{"--jti", "a", "--until", "tomorrow"}, "RFC 3339"},
		{"past until", []string{"--jti", "a", "--until", past}, "in the past"},
		{"until without jti", []string{"--sub", "a", "--until", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, "goes with --jti"},
		{"line break", []string{"--sub", "a\nb"}, "line break"},
		{"bad redis", []string{"--sub", "a", "--redis", "http://x"}, "redis:// or rediss://"},
		{"redis password not echoed", []string{"--sub", "a", "--redis", "redis://u:hunter2secret@127.0.0.1:1/0?dial_timeout=200ms"}, "publishing through Redis failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gh(t, "", append([]string{"token", "revoke", "--data", data}, tt.args...)...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tt.want)
			}
			if strings.Contains(r.stderr, "hunter2secret") {
				t.Fatal("the Redis password is in the message")
			}
		})
	}
}

// A user or client added with --redis is found at once by a running
// process that had cached its absence.
func TestAddWithRedisDropsNegativeEntries(t *testing.T) {
	rurl := revokeRedisURL(t)
	data := filepath.Join(t.TempDir(), "data")
	suffix := strings.ToLower(rand.Text()[:10])
	user, client := "erin-"+suffix, "svc-"+suffix
	mustGH(t, "", "user", "add", "placeholder-"+suffix, "--email", "p@acme.test", "--data", data)
	st := openTestStore(t, data)
	sh, err := openShared(context.Background(), rurl, sharedOptions{wait: 5 * time.Second}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer sh.close()
	running, err := sh.wrapStore(st)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := running.UserByUsername(ctx, user); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("before: %v", err)
	}
	if _, err := running.ClientByID(ctx, client); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("before: %v", err)
	}
	mustGH(t, "", "user", "add", user, "--email", "erin@acme.test", "--data", data, "--redis", rurl)
	mustGH(t, "", "client", "add", client, "--grants", "client_credentials", "--data", data, "--redis", rurl)
	redistest.Eventually(t, time.Second, "the running process finds the new user and client", func() bool {
		_, uerr := running.UserByUsername(ctx, user)
		_, cerr := running.ClientByID(ctx, client)
		return uerr == nil && cerr == nil
	})
}

// A --jti entry lasts until --until plus the verifiers' leeway: they
// accept the token that long after its exp.
func TestTokenRevokeUntilCoversTheLeeway(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	mustGH(t, "", "user", "add", "alice", "--email", "alice@acme.test", "--data", data)
	exp := time.Now().Add(time.Hour).Truncate(time.Second).UTC()
	mustGH(t, "", "token", "revoke", "--jti", "leeway-jti", "--until", exp.Format(time.RFC3339), "--data", data)
	st := openTestStore(t, data)
	revs, err := st.ListRevocations(context.Background(), exp.Add(token.DefaultLeeway-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range revs {
		found = found || r.Value == "leeway-jti"
	}
	if !found {
		t.Fatalf("the entry is gone within the leeway after --until: %+v", revs)
	}
}

// --client revokes the client's refresh tokens too, as --sub does the
// user's.
func TestTokenRevokeClientRevokesItsRefreshTokens(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	mustGH(t, "", "user", "add", "alice", "--email", "alice@acme.test", "--data", data)
	st := saveTwoFamilies(t, data)
	mustGH(t, "", "token", "revoke", "--client", "batch", "--data", data)
	onlyBatchRevoked(t, st)
}

// With --config, a subject entry lasts as long as the configured access
// tokens can live, beyond the 24h default.
func TestTokenRevokeSpanFollowsTheConfiguredTTL(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	mustGH(t, "", "user", "add", "alice", "--email", "alice@acme.test", "--data", data)
	cfg := filepath.Join(dir, "gatehouse.yaml")
	yaml := "authserver:\n  issuer: http://127.0.0.1:1\n  data: " + data + "\n  access_token_ttl: 72h\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	mustGH(t, "", "token", "revoke", "--sub", "long-lived", "--config", cfg)
	st := openTestStore(t, data)
	revs, err := st.ListRevocations(context.Background(), time.Now().Add(71*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range revs {
		found = found || r.Value == "long-lived"
	}
	if !found {
		t.Fatalf("the entry is gone before the configured 72h access tokens expire: %+v", revs)
	}
}

// --sub with a username (not the user's ID) warns and names the ID.
func TestTokenRevokeSubWithAUsernameWarns(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	mustGH(t, "", "user", "add", "alice", "--email", "alice@acme.test", "--data", data)
	st := openTestStore(t, data)
	alice, err := st.UserByUsername(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	r := gh(t, "", "token", "revoke", "--sub", "alice", "--data", data)
	if r.code != 0 || !strings.Contains(r.stderr, "warning") || !strings.Contains(r.stderr, alice.ID) {
		t.Fatalf("exit %d, stderr %q; want 0 and a warning naming %s", r.code, r.stderr, alice.ID)
	}
	r = gh(t, "", "token", "revoke", "--sub", alice.ID, "--data", data)
	if r.code != 0 || strings.Contains(r.stderr, "warning") {
		t.Fatalf("exit %d, stderr %q; want 0 and no warning", r.code, r.stderr)
	}
}

// client delete revokes the client's refresh tokens too: a client recreated
// with the same id must not refresh the old client's tokens.
func TestClientDeleteRevokesItsRefreshTokens(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	mustGH(t, "", "client", "add", "batch", "--grants", "client_credentials", "--data", data)
	st := saveTwoFamilies(t, data)
	mustGH(t, "", "client", "delete", "batch", "--data", data)
	onlyBatchRevoked(t, st)
}

// saveTwoFamilies stores a refresh token family of client batch and one of
// client other in the store at data, and returns the store.
func saveTwoFamilies(t *testing.T, data string) identity.Store {
	t.Helper()
	st := openTestStore(t, data)
	now := time.Now()
	for _, rt := range []*identity.RefreshToken{
		{Hash: identity.HashToken(identity.NewSecret()), FamilyID: "fam-batch", ClientID: "batch", Subject: "u1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		{Hash: identity.HashToken(identity.NewSecret()), FamilyID: "fam-other", ClientID: "other", Subject: "u1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
	} {
		if err := st.SaveRefreshToken(context.Background(), rt); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// onlyBatchRevoked checks that batch's family is revoked and other's not.
func onlyBatchRevoked(t *testing.T, st identity.Store) {
	t.Helper()
	for fam, want := range map[string]bool{"fam-batch": true, "fam-other": false} {
		got, err := st.FamilyRevoked(context.Background(), fam)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("FamilyRevoked(%s) = %v, want %v", fam, got, want)
		}
	}
}
