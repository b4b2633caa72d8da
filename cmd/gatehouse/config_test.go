package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigStoreFromFileFolder: 'user' and 'client' given --config open
// the store of the file, whose relative data folder (and the default one)
// starts at the file's folder, whatever the working folder.
func TestConfigStoreFromFileFolder(t *testing.T) {
	for _, tt := range []struct{ name, data, want string }{
		{"relative data", "  data: ./store\n", "store"},
		{"default data", "", "gatehouse-data"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "etc")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "gatehouse.yaml")
			if err := os.WriteFile(file, []byte("authserver:\n  issuer: http://127.0.0.1:9000\n"+tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			mustGH(t, "", "user", "add", "alice", "--email", "alice@acme.test", "--config", file)
			if _, err := os.Stat(filepath.Join(dir, tt.want, dbFile)); err != nil {
				t.Fatalf("the store is not in the file's folder: %v", err)
			}
			if _, err := os.Stat(filepath.Join(".", tt.want)); err == nil && tt.want != "gatehouse-data" {
				t.Fatalf("a store was created in the working folder")
			}
			if out := mustGH(t, "", "user", "list", "--config", file); !strings.Contains(out, "alice") {
				t.Fatalf("user list --config does not see alice:\n%s", out)
			}
			mustGH(t, "", "client", "add", "svc", "--grants", "client_credentials", "--config", file)
			if out := mustGH(t, "", "client", "list", "--config", file); !strings.Contains(out, "svc") {
				t.Fatalf("client list --config does not see svc:\n%s", out)
			}
		})
	}
}
