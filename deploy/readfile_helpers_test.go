package deploy_test

// readFile, for the tests that read a file of the repository (go.mod in
// TestDockerfile, .dockerignore).

import (
	"os"
	"testing"
)

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
