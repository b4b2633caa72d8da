package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

const (
	testIss = "https://auth.example"
	testAud = "orders"
)

// mintArgs are the flags of a token for testIss and testAud.
func mintArgs(key string, extra ...string) []string {
	return append([]string{"token", "mint", "--key", key, "--iss", testIss, "--aud", testAud, "--sub", "alice"}, extra...)
}

func mintToken(t *testing.T, key string, extra ...string) string {
	t.Helper()
	return strings.TrimSpace(mustGH(t, "", mintArgs(key, extra...)...))
}

// verifyArgs are the flags that verify a token of testIss for testAud.
func verifyArgs(jwks string, extra ...string) []string {
	return append([]string{"token", "verify", "--jwks", jwks, "--iss", testIss, "--aud", testAud}, extra...)
}

// serveJWKS serves body at every path and counts the requests.
func serveJWKS(t *testing.T, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestMintVerifyRoundTrip(t *testing.T) {
	for _, alg := range keys.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			dir := t.TempDir()
			key := genKey(t, dir, "key.jwk", alg)
			raw := mintToken(t, key,
				"--aud", "billing", "--ttl", "5m",
				"--scope", "orders:read  orders:write", "--roles", "admin,support", "--groups", "staff",
				"--org", "acme", "--email", "alice@acme.example", "--name", "Alice", "--client-id", "web",
				"--claim", "level=3", "--claim", "beta=true", "--claim", `tags=["a","b"]`,
				"--claim", "tier=gold", "--claim", `code="42"`, "--claim", "note=a=b")
			if strings.Count(raw, ".") != 2 {
				t.Fatalf("mint printed %q, not a compact JWS", raw)
			}

			// The key file itself verifies (HS256 needs the secret).
			r := gh(t, "", verifyArgs(key, raw)...)
			if r.code != 0 {
				t.Fatalf("verify: exit %d, stderr %q", r.code, r.stderr)
			}
			if r.stderr != "" {
				t.Errorf("verify wrote to stderr: %q", r.stderr)
			}
			c := decodeJSON(t, r.stdout)
			want := map[string]any{
				"iss": testIss, "sub": "alice", "scope": "orders:read orders:write", "org": "acme",
				"email": "alice@acme.example", "name": "Alice", "client_id": "web",
				"level": 3.0, "beta": true, "tier": "gold", "code": "42", "note": "a=b",
			}
			for k, v := range want {
				if c[k] != v {
					t.Errorf("claim %s = %#v, want %#v", k, c[k], v)
				}
			}
			for k, v := range map[string]string{"aud": `["orders","billing"]`, "roles": `["admin","support"]`, "groups": `["staff"]`, "tags": `["a","b"]`} {
				if got, _ := json.Marshal(c[k]); string(got) != v {
					t.Errorf("claim %s = %s, want %s", k, got, v)
				}
			}
			exp, iat := c["exp"].(float64), c["iat"].(float64)
			if exp-iat != 300 {
				t.Errorf("exp - iat = %v, want 300 (--ttl 5m)", exp-iat)
			}

			// The header carries the key's algorithm and typ at+jwt.
			d := decodeJSON(t, strings.SplitN(mustGH(t, "", "token", "decode", raw), "\n", 2)[1])
			h := d["header"].(map[string]any)
			if h["alg"] != string(alg) || h["typ"] != "at+jwt" || h["kid"] == "" {
				t.Errorf("header %v, want alg %s, typ at+jwt and a kid", h, alg)
			}

			// From stdin, with "-" and without an argument.
			for _, args := range [][]string{verifyArgs(key, "-"), verifyArgs(key)} {
				if r := gh(t, raw+"\n", args...); r.code != 0 {
					t.Errorf("verify from stdin %v: exit %d, stderr %q", args[len(args)-1], r.code, r.stderr)
				}
			}

			if alg.Symmetric() {
				// HS256 is allowed only because the file holds an HS256 key;
				// an explicit --alg without it refuses the token.
				r := gh(t, "", verifyArgs(key, "--alg", "ES256", raw)...)
				if r.code != exitInvalid || !strings.Contains(r.stderr, "algorithm not allowed") {
					t.Errorf("HS256 token with --alg ES256: exit %d, stderr %q", r.code, r.stderr)
				}
				return
			}
			// The public JWKS verifies too, and only with the public key.
			jwks := filepath.Join(dir, "jwks.json")
			if err := os.WriteFile(jwks, []byte(mustGH(t, "", "keys", "jwks", key)), 0o600); err != nil {
				t.Fatal(err)
			}
			if r := gh(t, "", verifyArgs(jwks, raw)...); r.code != 0 {
				t.Errorf("verify with the public JWKS: exit %d, stderr %q", r.code, r.stderr)
			}
		})
	}
}

func TestMintFromPEMKey(t *testing.T) {
	dir := t.TempDir()
	pemKey := writePEMKey(t, dir, "server.pem")
	raw := mintToken(t, pemKey)
	if r := gh(t, "", verifyArgs(pemKey, raw)...); r.code != 0 {
		t.Fatalf("verify: exit %d, stderr %q", r.code, r.stderr)
	}
}

// expiredToken signs a token for testIss and testAud that expired 45
// minutes ago, with the key in the file at path.
func expiredToken(t *testing.T, path string) string {
	t.Helper()
	k, err := keys.LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := token.NewIssuer(testIss, k, token.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := iss.AccessToken(token.Claims{Subject: "alice", Audience: token.Audience{testAud}})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// tamper replaces the subject in the payload of raw, keeping the signature.
func tamper(t *testing.T, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(string(payload), `"sub":"alice"`, `"sub":"admin"`, 1)
	if forged == string(payload) {
		t.Fatalf("payload has no sub alice: %s", payload)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(forged))
	return strings.Join(parts, ".")
}

func TestVerifyRejects(t *testing.T) {
	dir := t.TempDir()
	key := genKey(t, dir, "key.jwk", keys.ES256, "--kid", "k1")
	sameKid := genKey(t, dir, "other.jwk", keys.ES256, "--kid", "k1")
	otherKid := genKey(t, dir, "other2.jwk", keys.ES256)
	good := mintToken(t, key)

	tests := []struct {
		name  string
		raw   string
		flags []string
		want  string
	}{
		{"expired", expiredToken(t, key), nil, "invalid token: token: token expired: expired at "},
		{"expired beyond a longer leeway", expiredToken(t, key), []string{"--leeway", "5m"}, "token expired"},
		{"wrong audience", mintToken(t, key, "--aud", "x"), []string{"--aud", "billing"}, "invalid token: token: wrong audience"},
		{"wrong issuer", good, []string{"--iss", "https://evil.example"}, "invalid token: token: wrong issuer"},
		{"tampered payload", tamper(t, good), nil, "invalid token: token: bad signature"},
		{"signed by another key with the same kid", mintToken(t, sameKid), nil, "invalid token: token: bad signature"},
		{"unknown kid", mintToken(t, otherKid), nil, "invalid token: token: unknown signing key"},
		{"wrong typ", mintToken(t, key, "--typ", "JWT"), nil, "invalid token: token: wrong token type"},
		{"algorithm not allowed", good, []string{"--alg", "EdDSA,RS256"}, "invalid token: token: algorithm not allowed"},
		{"not a token", "not-a-token", nil, "invalid token: token: malformed token"},
		{"too large", good + strings.Repeat("A", 9000), nil, "invalid token: token: token too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, viaStdin := range []bool{false, true} {
				args := verifyArgs(key, tc.flags...)
				stdin := ""
				if viaStdin {
					stdin = tc.raw + "\n"
				} else {
					args = append(args, tc.raw)
				}
				r := gh(t, stdin, args...)
				if r.code != exitInvalid {
					t.Fatalf("exit %d, want 1; stderr %q", r.code, r.stderr)
				}
				assertOneLine(t, r.stderr)
				if !strings.HasPrefix(r.stderr, tc.want) && !strings.Contains(r.stderr, tc.want) {
					t.Errorf("stderr %q does not say %q", r.stderr, tc.want)
				}
				if r.stdout != "" {
					t.Errorf("stdout %q, want nothing", r.stdout)
				}
				assertNoToken(t, r.stdout+r.stderr, tc.raw)
			}
		})
	}
}

func TestVerifyTypeFlags(t *testing.T) {
	dir := t.TempDir()
	key := genKey(t, dir, "key.jwk", keys.EdDSA)
	jwt := mintToken(t, key, "--typ", "JWT")
	for _, flags := range [][]string{{"--typ", "JWT"}, {"--typ", "at+jwt,JWT"}, {"--any-type"}} {
		if r := gh(t, "", verifyArgs(key, append(flags, jwt)...)...); r.code != 0 {
			t.Errorf("verify %v: exit %d, stderr %q", flags, r.code, r.stderr)
		}
	}
	if r := gh(t, "", verifyArgs(key, "--typ", "at+jwt", jwt)...); r.code != exitInvalid {
		t.Errorf("typ JWT with --typ at+jwt: exit %d, want 1", r.code)
	}
}

func TestVerifyRemoteJWKS(t *testing.T) {
	dir := t.TempDir()
	key := genKey(t, dir, "key.jwk", keys.PS256)
	raw := mintToken(t, key)
	jwks := mustGH(t, "", "keys", "jwks", key)

	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/.well-known/jwks.json":
			_, _ = w.Write([]byte(jwks))
		case "/empty":
			_, _ = w.Write([]byte(`{"keys":[]}`))
		default:
			http.Error(w, "down", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()

	r := gh(t, "", verifyArgs(srv.URL+"/.well-known/jwks.json", raw)...)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if c := decodeJSON(t, r.stdout); c["sub"] != "alice" {
		t.Errorf("claims %v", c)
	}
	if hits.Load() == 0 {
		t.Error("the JWKS URL was not fetched")
	}

	// A key source that fails: exit 1, and it says the token could not be
	// checked rather than that it is invalid.
	for _, url := range []string{srv.URL + "/down", srv.URL + "/empty"} {
		r = gh(t, "", verifyArgs(url, raw)...)
		if r.code != exitInvalid {
			t.Fatalf("%s: exit %d, want 1; stderr %q", url, r.code, r.stderr)
		}
		assertOneLine(t, r.stderr)
		if !strings.HasPrefix(r.stderr, "could not check the token") {
			t.Errorf("%s: stderr %q does not say the token could not be checked", url, r.stderr)
		}
		assertNoToken(t, r.stderr, raw)
	}

	// Credentials in the URL are not printed.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := strings.Replace(dead.URL, "http://", "http://user:hunter2@", 1) + "/jwks"
	dead.Close()
	r = gh(t, "", verifyArgs(deadURL, raw)...)
	if r.code != exitInvalid || strings.Contains(r.stderr, "hunter2") {
		t.Errorf("unreachable JWKS: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestVerifyUsageErrors(t *testing.T) {
	dir := t.TempDir()
	key := genKey(t, dir, "key.jwk", keys.ES256)
	raw := mintToken(t, key)
	garbage := filepath.Join(dir, "garbage.json")
	if err := os.WriteFile(garbage, []byte(`{"keys": 3}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"missing --jwks", []string{"token", "verify", "--iss", testIss, "--aud", testAud, raw}, "", `required flag(s) "jwks" not set`},
		{"missing --iss and --aud", []string{"token", "verify", "--jwks", key, raw}, "", `required flag(s) "aud", "iss" not set`},
		{"empty --aud", verifyArgs(key, "--aud", "", raw), "", "must not be empty"},
		{"missing key file", verifyArgs(filepath.Join(dir, "nope.json"), raw), "", "no such file"},
		{"bad key file", verifyArgs(garbage, raw), "", "garbage.json"},
		{"bad JWKS URL", verifyArgs("http://", raw), "", "JWKS URL"},
		{"bad --leeway", verifyArgs(key, "--leeway", "soon", raw), "", `--leeway "soon" is not a clock skew`},
		{"--leeway too long", verifyArgs(key, "--leeway", "10m", raw), "", "from 0s to 5m"},
		{"bad --alg", verifyArgs(key, "--alg", "none", raw), "", `--alg "none" is not supported`},
		{"--typ with --any-type", verifyArgs(key, "--typ", "JWT", "--any-type", raw), "", "any-type"},
		{"two tokens", verifyArgs(key, raw, raw), "", "takes one token"},
		{"empty stdin", verifyArgs(key), "", "no token on stdin"},
		{"blank stdin with -", verifyArgs(key, "-"), " \n", "no token on stdin"},
		{"unknown flag", verifyArgs(key, "--audience", "x", raw), "", "unknown flag: --audience"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := gh(t, tc.stdin, tc.args...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want 2; stderr %q", r.code, r.stderr)
			}
			assertOneLine(t, r.stderr)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.want)
			}
			assertNoToken(t, r.stderr, raw)
		})
	}
}

func TestMintUsageErrors(t *testing.T) {
	dir := t.TempDir()
	key := genKey(t, dir, "key.jwk", keys.ES256)
	secret := genKey(t, dir, "secret.jwk", keys.HS256)
	public := filepath.Join(dir, "public.json")
	if err := os.WriteFile(public, []byte(mustGH(t, "", "keys", "jwks", key)), 0o600); err != nil {
		t.Fatal(err)
	}
	two := filepath.Join(dir, "two.json")
	other := genKey(t, dir, "other.jwk", keys.EdDSA)
	if err := os.WriteFile(two, []byte(mustGH(t, "", "keys", "jwks", key, other)), 0o600); err != nil {
		t.Fatal(err)
	}
	secretK := decodeJSON(t, string(must(os.ReadFile(secret))))["k"].(string)

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing --key", []string{"token", "mint", "--iss", testIss, "--aud", testAud, "--sub", "alice"}, `required flag(s) "key" not set`},
		{"missing --iss", []string{"token", "mint", "--key", key, "--aud", testAud, "--sub", "alice"}, `required flag(s) "iss" not set`},
		{"missing --aud", []string{"token", "mint", "--key", key, "--iss", testIss, "--sub", "alice"}, `required flag(s) "aud" not set`},
		{"missing --sub", []string{"token", "mint", "--key", key, "--iss", testIss, "--aud", testAud}, `required flag(s) "sub" not set`},
		{"empty --aud", mintArgs(key, "--aud", ""), "--aud must not be empty"},
		{"bad --ttl", mintArgs(key, "--ttl", "soon"), `--ttl "soon" is not a lifetime`},
		{"--ttl without unit", mintArgs(key, "--ttl", "15"), `--ttl "15" is not a lifetime`},
		{"zero --ttl", mintArgs(key, "--ttl", "0s"), "at least 1s"},
		{"negative --ttl", mintArgs(key, "--ttl", "-5m"), "at least 1s"},
		{"--ttl below a second", mintArgs(key, "--ttl", "500ms"), "at least 1s"},
		{"--claim without =", mintArgs(key, "--claim", "tier"), "--claim wants name=value"},
		{"--claim without name", mintArgs(key, "--claim", "=gold"), "--claim wants name=value"},
		{"--claim twice", mintArgs(key, "--claim", "a=1", "--claim", "a=2"), "--claim a given twice"},
		{"--claim sub", mintArgs(key, "--claim", "sub=root"), "sub is a standard claim: use --sub"},
		{"--claim exp", mintArgs(key, "--claim", "exp=9999999999"), "exp is a standard claim: it is set from the current time and --ttl"},
		{"--claim client_id", mintArgs(key, "--claim", "client_id=x"), "use --client-id"},
		{"missing key file", mintArgs(filepath.Join(dir, "nope.jwk")), "cannot read the signing key"},
		{"public key only", mintArgs(public), "holds a public key only"},
		{"two keys", mintArgs(two), "holds 2 keys, want exactly one"},
		{"positional argument", mintArgs(key, "extra"), `takes no arguments, got "extra"`},
		{"token as an argument", mintArgs(key, "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"), "takes no arguments, got 1;"},
		{"unknown flag", mintArgs(key, "--expires", "1h"), "unknown flag: --expires"},
		{"secret key, bad ttl", mintArgs(secret, "--ttl", "x"), "--ttl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := gh(t, "", tc.args...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want 2; stderr %q", r.code, r.stderr)
			}
			assertOneLine(t, r.stderr)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			if strings.Contains(r.stderr, secretK) {
				t.Error("the secret was printed")
			}
		})
	}
}

// TestMintRefusesEveryStandardClaim checks that --claim refuses each claim
// that has a flag or is set by mint, and names what to use instead.
func TestMintRefusesEveryStandardClaim(t *testing.T) {
	key := genKey(t, t.TempDir(), "key.jwk", keys.ES256)
	for name, how := range standardClaims {
		r := gh(t, "", mintArgs(key, "--claim", name+"=x")...)
		if r.code != exitUsage || !strings.Contains(r.stderr, how) {
			t.Errorf("--claim %s=x: exit %d, stderr %q; want 2 and %q", name, r.code, r.stderr, how)
		}
	}
}

func TestDecode(t *testing.T) {
	dir := t.TempDir()
	key := genKey(t, dir, "key.jwk", keys.ES256)
	raw := mintToken(t, key, "--claim", "tier=gold")
	expired := expiredToken(t, key)

	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		sub   string
	}{
		{"argument", []string{raw}, "", "alice"},
		{"stdin with -", []string{"-"}, raw + "\n", "alice"},
		{"stdin", nil, raw, "alice"},
		{"expired token still decodes", []string{expired}, "", "alice"},
		{"tampered token still decodes", []string{tamper(t, raw)}, "", "admin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := gh(t, tc.stdin, append([]string{"token", "decode"}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			first, rest, _ := strings.Cut(r.stdout, "\n")
			if first != "# UNVERIFIED: signature and claims not checked" {
				t.Errorf("first line %q does not mark the output UNVERIFIED", first)
			}
			d := decodeJSON(t, rest)
			h, c := d["header"].(map[string]any), d["claims"].(map[string]any)
			if h["alg"] != "ES256" || c["sub"] != tc.sub || c["iss"] != testIss {
				t.Errorf("header %v claims %v", h, c)
			}
			if tc.sub == "alice" && tc.name != "expired token still decodes" && c["tier"] != "gold" {
				t.Errorf("custom claim missing:\n%s", rest)
			}
		})
	}

	// Another issuer's token with characters that JSON encoders often
	// escape is printed as it is.
	foreign := b64url(`{"alg":"none"}`) + "." + b64url(`{"sub":"<b>&"}`) + ".c2ln"
	if r := gh(t, "", "token", "decode", foreign); r.code != 0 || !strings.Contains(r.stdout, `"sub": "<b>&"`) {
		t.Errorf("foreign token: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	for _, tc := range []struct {
		name, raw, want string
	}{
		{"one part", "abc", "cannot decode the token: token: malformed token"},
		{"bad base64", "e30.!!!.sig", "malformed token"},
		{"JWE", "a.b.c.d.e", "JWE"},
		{"claims not an object", "e30.W10.c2ln", "JSON object"},
		{"header not an object", "W10.e30.c2ln", "JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := gh(t, "", "token", "decode", tc.raw)
			if r.code != exitInvalid {
				t.Fatalf("exit %d, want 1; stderr %q", r.code, r.stderr)
			}
			assertOneLine(t, r.stderr)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
		})
	}

	if r := gh(t, "", "token", "decode", raw, raw); r.code != exitUsage {
		t.Errorf("two tokens: exit %d, want 2", r.code)
	}
	if r := gh(t, "", "token", "decode"); r.code != exitUsage {
		t.Errorf("empty stdin: exit %d, want 2", r.code)
	}
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
