package demo

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The printed curl commands work when pasted: run them through sh.
func TestGuideCommandsRunInSh(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"sh", "curl", "sed", "cat"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
	env := startDemo(t, Config{})
	var guide bytes.Buffer
	PrintGuide(&guide, env)
	// The guide starts with the browser app.
	if head, _, _ := strings.Cut(guide.String(), "\n\n  auth server"); !strings.Contains(head, "open "+env.AppURL+" and log in as alice") {
		t.Errorf("the guide does not start with the app: %q", head)
	}
	script := strings.Join(Commands(env), "\n")
	for _, c := range Commands(env) {
		if !strings.Contains(guide.String(), c) {
			t.Errorf("the guide does not print %q", c)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", "set -e\n"+script)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	t.Logf("sh output:\n%s", out)
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	for _, want := range []string{
		`"status":"OK"`, `"emails":["alice@acme.example","bob@acme.example"]`, // 000
		`"display_name":"Bob Builder"`, // 001
		`"org":"globex"`, "\n404\n",    // 002
		`"act":"orders"`, `"caller":"orders"`, // 003
		"\n401\n", // logout
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %q", want)
		}
	}
	if bytes.Contains(out, []byte(`"id":"A-`)) {
		t.Error("carol saw an acme order")
	}
}

// A second start reuses the data folder: same users (IDs), same secrets,
// nothing generated again, and the guide no longer shows the passwords.
func TestSecondStartReusesData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := startDemo(t, Config{Data: dir})
	if !first.NewSecrets {
		t.Error("first start: NewSecrets is false")
	}
	id := func(env *Env) string {
		u, err := env.store.UserByUsername(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	aliceID, secret := id(first), first.ClientSecrets["cli"]
	var guide bytes.Buffer
	PrintGuide(&guide, first)
	if !strings.Contains(guide.String(), first.Passwords["alice"]) {
		t.Error("the first guide does not print alice's password")
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second := startDemo(t, Config{Data: dir})
	if second.NewSecrets {
		t.Error("second start generated secrets again")
	}
	if got := id(second); got != aliceID {
		t.Errorf("alice's ID changed: %s → %s", aliceID, got)
	}
	if second.ClientSecrets["cli"] != secret {
		t.Error("the cli secret changed")
	}
	guide.Reset()
	PrintGuide(&guide, second)
	if strings.Contains(guide.String(), second.Passwords["alice"]) {
		t.Error("the second guide prints a password again")
	}
	// --password replaces every password, and the auth server takes it.
	second.Close()
	third := startDemo(t, Config{Data: dir, Password: "correct horse battery staple"})
	w := &walker{ctx: t.Context(), env: third, hc: newTestClient()}
	if tok, r := w.password("bob", nil); tok == "" {
		t.Errorf("bob with --password: status %d %s", r.status, r.body)
	}
}

// A port in use fails the start with an error naming the port and the flag.
func TestPortInUse(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	base := port // the auth server's port is the base
	if base-921 < 1 || base+108 > 65535 {
		t.Skipf("random port %d cannot be a base", port)
	}
	_, err = Start(t.Context(), Config{PortBase: base, Data: t.TempDir()})
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("Start on a busy port: %v, want ErrPortInUse", err)
	}
	for _, want := range []string{strconv.Itoa(port), "--port-base", "auth server"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestPortsFor(t *testing.T) {
	tests := []struct {
		name    string
		base    int
		want    Ports
		wantErr bool
	}{
		{"default", 9000, Ports{Auth: 9000, AuthMTLS: 9001, Gateway: 8080, GatewayAdmin: 8079, Accounts: 9101, Admin: 9102, Users: 9103,
			Profiles: 9104, Orders: 9105, Payments: 9106, Legacy: 9107, App: 9108}, false},
		{"random", 0, Ports{}, false},
		{"lowest", 922, Ports{Auth: 922, AuthMTLS: 923, Gateway: 2, GatewayAdmin: 1, Accounts: 1023, Admin: 1024, Users: 1025,
			Profiles: 1026, Orders: 1027, Payments: 1028, Legacy: 1029, App: 1030}, false},
		{"too low", 921, Ports{}, true},
		{"highest", 65427, Ports{Auth: 65427, AuthMTLS: 65428, Gateway: 64507, GatewayAdmin: 64506, Accounts: 65528, Admin: 65529, Users: 65530,
			Profiles: 65531, Orders: 65532, Payments: 65533, Legacy: 65534, App: 65535}, false},
		{"too high", 65428, Ports{}, true},
		{"negative", -1, Ports{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PortsFor(tt.base)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "--port-base") {
				t.Errorf("error %q does not name the flag", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
