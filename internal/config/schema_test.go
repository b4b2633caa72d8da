package config

import (
	"bytes"
	"flag"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/gatehouse.schema.json from the loader's structs and docs/configuration.md")

const (
	referenceFile = "../../docs/configuration.md"
	schemaFile    = "../../docs/gatehouse.schema.json"
)

// docRow is a row of a key table of docs/configuration.md:
// | `path` | type | default | meaning |
var docRow = regexp.MustCompile("^\\| `((?:authserver|gateway|services)[^`]*)` \\|([^|]+)\\|([^|]*)\\|([^|]*)\\|$")

// reference reads the key tables of docs/configuration.md: path → type
// and path → meaning.
func reference(t *testing.T) (types, meanings map[string]string) {
	t.Helper()
	data, err := os.ReadFile(referenceFile)
	if err != nil {
		t.Fatal(err)
	}
	types, meanings = map[string]string{}, map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		m := docRow.FindStringSubmatch(line)
		if m == nil {
			if strings.HasPrefix(line, "| `authserver") || strings.HasPrefix(line, "| `gateway") || strings.HasPrefix(line, "| `services") {
				t.Errorf("configuration.md:%d: a key row that is not | `key` | type | default | meaning |", i+1)
			}
			continue
		}
		if _, dup := types[m[1]]; dup {
			t.Errorf("configuration.md:%d: %s is listed twice", i+1, m[1])
		}
		types[m[1]] = strings.TrimSpace(m[2])
		meanings[m[1]] = strings.TrimSpace(m[4])
	}
	return types, meanings
}

// TestReferenceListsEveryKey holds docs/configuration.md to the loader:
// every key the loader accepts is listed with its type, and every key
// listed is accepted.
func TestReferenceListsEveryKey(t *testing.T) {
	types, _ := reference(t)
	keys := Keys()
	for _, k := range keys {
		got, ok := types[k.Path]
		switch {
		case !ok:
			t.Errorf("docs/configuration.md does not list %s (%s): add a row | `%s` | %s | default | meaning |", k.Path, k.Type, k.Path, k.Type)
		case got != k.Type:
			t.Errorf("docs/configuration.md: %s is listed as %q; the loader reads %q", k.Path, got, k.Type)
		}
	}
	paths := keyPaths(keys)
	for p := range types {
		if _, found := slices.BinarySearch(paths, p); !found {
			t.Errorf("docs/configuration.md lists %s, which the loader does not accept: remove the row or fix its path", p)
		}
	}
}

// TestReferenceExamplesLoad: the messages the page shows are the
// loader's.
func TestReferenceExamplesLoad(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"gatway:\n  listen: x\n", `gatehouse.yaml:1: gatway: unknown key (did you mean "gateway"?); valid keys: authserver, gateway, services`},
		{"authserver:\n  issuer: http://a\n  access_token_ttl: 30\n", "gatehouse.yaml:3: authserver.access_token_ttl: 30 is not a duration: write 30s for 30 seconds (a number and a unit: ms, s, m or h, such as 500ms, 30s, 15m or 1h30m)"},
	} {
		_, err := Parse("gatehouse.yaml", []byte(tt.yaml))
		if err == nil || err.Error() != tt.want {
			t.Errorf("got %v\nwant %s", err, tt.want)
		}
		data, _ := os.ReadFile(referenceFile)
		if _, msg, _ := strings.Cut(tt.want, ": "); !bytes.Contains(data, []byte(msg)) {
			t.Errorf("docs/configuration.md does not show the message %q", msg)
		}
	}
}

// TestSchemaUpToDate: docs/gatehouse.schema.json is what JSONSchema
// generates from the loader's structs and the meanings of
// docs/configuration.md. Regenerate with
//
//	go test ./internal/config -run TestSchemaUpToDate -update
func TestSchemaUpToDate(t *testing.T) {
	_, meanings := reference(t)
	descs := map[string]string{}
	for p, m := range meanings {
		descs[p] = plain(m)
	}
	got, err := JSONSchema(descs)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(schemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("docs/gatehouse.schema.json is out of date: run go test ./internal/config -run TestSchemaUpToDate -update and commit it")
	}
}

// plain drops the Markdown of a meaning for editors' tooltips.
func plain(s string) string {
	s = strings.ReplaceAll(s, "`", "")
	s = regexp.MustCompile(`\[([^\]]+)\]\([^)]+\)`).ReplaceAllString(s, "$1")
	return s
}

// TestExamplesLoad: the example files load through the one loader.
func TestExamplesLoad(t *testing.T) {
	for _, file := range []string{"../../examples/gateway.yaml"} {
		f, err := Load(file)
		if err != nil {
			t.Fatal(err)
		}
		if f.Gateway == nil || len(f.Gateway.Routes) == 0 {
			t.Fatalf("%s: no gateway routes", file)
		}
	}
}
