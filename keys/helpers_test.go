package keys_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
)

// clock is a settable clock for keys.WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// generated caches one generated key per algorithm: RSA generation is slow,
// and most tests only need some valid key.
var generated = map[keys.Algorithm]func() (*keys.Key, error){}

func init() {
	for _, alg := range keys.Algorithms() {
		generated[alg] = sync.OnceValues(func() (*keys.Key, error) { return keys.Generate(alg) })
	}
}

// testKey returns a private key of alg, shared by the tests of this package.
func testKey(t testing.TB, alg keys.Algorithm) *keys.Key {
	t.Helper()
	k, err := generated[alg]()
	if err != nil {
		t.Fatalf("Generate(%s): %v", alg, err)
	}
	return k
}

// newKey generates a fresh private key of alg with the given kid.
func newKey(t testing.TB, alg keys.Algorithm, kid string) *keys.Key {
	t.Helper()
	k, err := keys.Generate(alg, keys.WithID(kid))
	if err != nil {
		t.Fatalf("Generate(%s): %v", alg, err)
	}
	return k
}

// jwksOf encodes the public JWK Set of ks.
func jwksOf(t testing.TB, ks ...*keys.Key) []byte {
	t.Helper()
	b, err := keys.MarshalJWKS(ks...)
	if err != nil {
		t.Fatalf("MarshalJWKS: %v", err)
	}
	return b
}

// jsonObject decodes a JSON object for inspection.
func jsonObject(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, b)
	}
	return m
}

// withMember returns the JSON object b with member name set to value (a JSON
// value), or removed when value is "".
func withMember(t testing.TB, b []byte, name, value string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if value == "" {
		delete(m, name)
	} else {
		m[name] = json.RawMessage(value)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// wantErr fails unless err is non-nil and its message contains every part.
func wantErr(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

var (
	cachedMu sync.Mutex
	cached   = map[string]func() (*keys.Key, error){}
)

// newKeyCached is newKey for tests that only need distinct keys: a key of the
// same algorithm and kid is generated once per test binary.
func newKeyCached(t testing.TB, alg keys.Algorithm, kid string) *keys.Key {
	t.Helper()
	cachedMu.Lock()
	gen, ok := cached[string(alg)+" "+kid]
	if !ok {
		gen = sync.OnceValues(func() (*keys.Key, error) { return keys.Generate(alg, keys.WithID(kid)) })
		cached[string(alg)+" "+kid] = gen
	}
	cachedMu.Unlock()
	k, err := gen()
	if err != nil {
		t.Fatalf("Generate(%s): %v", alg, err)
	}
	return k
}
