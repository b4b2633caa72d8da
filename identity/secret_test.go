package identity_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/identity"
)

func TestPasswordHashing(t *testing.T) {
	h, err := identity.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, "correct") {
		t.Fatalf("hash %q", h)
	}
	h2, _ := identity.HashPassword("correct horse")
	if h == h2 {
		t.Fatal("no salt: equal passwords give equal hashes")
	}
	for _, tt := range []struct {
		pw   string
		want bool
	}{
		{"correct horse", true},
		{"correct horse ", false},
		{"Correct horse", false},
		{"", false},
		{strings.Repeat("x", identity.MaxPasswordBytes+1), false},
	} {
		ok, err := identity.VerifyPassword(h, tt.pw)
		if err != nil || ok != tt.want {
			t.Fatalf("VerifyPassword(%.20q) = %v %v, want %v", tt.pw, ok, err, tt.want)
		}
	}
}

func TestVerifyPasswordRefusesBadHashes(t *testing.T) {
	good, _ := identity.HashPassword("pw")
	parts := strings.Split(good, "$")
	for _, tt := range []struct{ name, hash string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuv"},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"wrong version", strings.Replace(good, "v=19", "v=16", 1)},
		{"huge memory", strings.Replace(good, "m=19456", "m=99999999", 1)},
		{"zero time", strings.Replace(good, "t=2", "t=0", 1)},
		{"bad salt", strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$")},
		{"short hash", strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$")},
		{"missing part", strings.Join(parts[:5], "$")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := identity.VerifyPassword(tt.hash, "pw")
			if ok || !errors.Is(err, identity.ErrBadHash) {
				t.Fatalf("got %v %v, want ErrBadHash", ok, err)
			}
		})
	}
}

func TestSecretsAndTokens(t *testing.T) {
	if _, err := identity.HashSecret("short"); err == nil {
		t.Fatal("short client secret accepted")
	}
	a, b := identity.NewSecret(), identity.NewSecret()
	if a == b || len(a) != 43 {
		t.Fatalf("secrets %q %q", a, b)
	}
	if again := identity.HashToken(a); identity.HashToken(a) == identity.HashToken(b) || again != identity.HashToken(a) || strings.Contains(again, a) {
		t.Fatal("HashToken is not a deterministic one-way digest")
	}
	if identity.VerifyNoUser("pw") {
		t.Fatal("VerifyNoUser reported a match")
	}
}

func FuzzVerifyPassword(f *testing.F) {
	good, _ := identity.HashPassword("pw")
	f.Add(good, "pw")
	f.Add("$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAA", "x")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		if strings.Contains(hash, "m=") && !strings.Contains(hash, "m=1,") && !strings.Contains(hash, "m=19456") {
			t.Skip("large memory parameters make the fuzzer slow, not wrong")
		}
		ok, err := identity.VerifyPassword(hash, pw)
		if ok && err != nil {
			t.Fatal("match with an error")
		}
	})
}

func TestHashPasswordWith(t *testing.T) {
	cheap := identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}
	h, err := identity.HashPasswordWith("pw", cheap)
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q %v", h, err)
	}
	if ok, err := identity.VerifyPassword(h, "pw"); !ok || err != nil {
		t.Fatalf("a cheap hash does not verify: %v %v", ok, err)
	}
	if ok, _ := identity.VerifyPassword(h, "other"); ok {
		t.Fatal("a cheap hash verified a wrong password")
	}
	for _, p := range []identity.Argon2Params{
		{MemoryKiB: 64, Time: 0, Threads: 1},
		{MemoryKiB: 64, Time: 1, Threads: 0},
		{MemoryKiB: 7, Time: 1, Threads: 1},
		{MemoryKiB: 2 << 20, Time: 1, Threads: 1},
		{MemoryKiB: 64, Time: 65, Threads: 1},
	} {
		if _, err := identity.HashPasswordWith("pw", p); err == nil {
			t.Errorf("params %+v accepted", p)
		}
	}
	if d := identity.DefaultArgon2Params(); d.MemoryKiB != 19*1024 || d.Time != 2 || d.Threads != 1 {
		t.Errorf("default params %+v, want OWASP's 19 MiB, t=2, p=1", d)
	}
}

// Tests that create many users and clients hash with low costs: argon2id's
// default costs are what make guessing expensive, and cost the same in tests.
func ExampleHashPasswordWith() {
	testCost := identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}
	hash, _ := identity.HashPasswordWith("correct horse battery staple", testCost)
	ok, _ := identity.VerifyPassword(hash, "correct horse battery staple")
	fmt.Println(ok)
	// Output: true
}
