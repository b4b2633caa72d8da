package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestClientAddIntrospection: --introspection gives a client the right to
// introspect every token; the store keeps it, the list shows it, and a
// public client cannot have it.
func TestClientAddIntrospection(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	mustGH(t, "", "client", "add", "reader", "--grants", "client_credentials", "--introspection", "--data", data)
	mustGH(t, "", "client", "add", "plain", "--grants", "client_credentials", "--data", data)
	st := openTestStore(t, data)
	for id, want := range map[string]bool{"reader": true, "plain": false} {
		c, err := st.ClientByID(context.Background(), id)
		if err != nil || c.Introspection != want {
			t.Fatalf("stored %s: introspection %v, %v; want %v", id, c != nil && c.Introspection, err, want)
		}
	}
	list := mustGH(t, "", "client", "list", "--data", data)
	if got := tableRow(list, "reader"); len(got) < 2 || got[1] != "confidential+introspection" {
		t.Errorf("reader row %q", got)
	}
	if got := tableRow(list, "plain"); len(got) < 2 || got[1] != "confidential" {
		t.Errorf("plain row %q", got)
	}
	r := gh(t, "", "client", "add", "spa", "--public", "--introspection", "--grants", "authorization_code",
		"--redirect-uri", "http://127.0.0.1:5173/callback", "--data", data)
	if r.code == 0 || !strings.Contains(r.stderr, "cannot introspect") {
		t.Fatalf("a public client with --introspection: exit %d, stderr %q", r.code, r.stderr)
	}
}
