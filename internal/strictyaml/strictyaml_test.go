package strictyaml

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type inner struct {
	Line  int      `yaml:"-"`
	Name  string   `yaml:"name"`
	Items []string `yaml:"items"`
}

type secret struct {
	Value string `yaml:"secret"`
	Env   string `yaml:"secret_env"`
}

type doc struct {
	Listen   string            `yaml:"listen"`
	TTL      time.Duration     `yaml:"ttl"`
	Enabled  bool              `yaml:"enabled"`
	MaxBytes int64             `yaml:"max_bytes"`
	Rate     float64           `yaml:"rate"`
	Sub      *inner            `yaml:"sub"`
	List     []inner           `yaml:"list"`
	Headers  map[string]string `yaml:"headers"`
	Secret   secret            `yaml:",inline"`
}

func decode(t *testing.T, src string) (*doc, Lines, error) {
	t.Helper()
	n, err := ParseDocument("f.yaml", []byte(src))
	if err != nil {
		return nil, nil, err
	}
	var d doc
	lines := Lines{}
	if err := Decode("f.yaml", n, "", &d, lines); err != nil {
		return nil, nil, err
	}
	return &d, lines, nil
}

func TestDecode(t *testing.T) {
	d, lines, err := decode(t, `listen: ":80"
ttl: 1h30m
enabled: true
max_bytes: 1_048_576
rate: 0.5
secret_env: S
sub:
  name: a
  items: [x, y]
list:
  - &b {name: one}
  - *b
headers: {X-A: b}
`)
	if err != nil {
		t.Fatal(err)
	}
	if d.Listen != ":80" || d.TTL != 90*time.Minute || !d.Enabled || d.MaxBytes != 1<<20 || d.Rate != 0.5 ||
		d.Secret.Env != "S" || d.Sub.Name != "a" || d.Sub.Line != 8 || len(d.Sub.Items) != 2 ||
		len(d.List) != 2 || d.List[1].Name != "one" || d.Headers["X-A"] != "b" {
		t.Fatalf("decoded %+v", d)
	}
	if lines["sub.items"] != 9 || lines.Of("list[1]") != 12 || lines.Of("headers.X-A") != 13 {
		t.Fatalf("lines %v", lines)
	}
}

// TestErrors has one case per class of message: each says where (file,
// line, key path), what is wrong and what to write instead.
func TestErrors(t *testing.T) {
	for _, tt := range []struct {
		name, src, want string
	}{
		{"syntax", "listen: a\n  ttl: b\n", "f.yaml:2: not valid YAML: mapping values are not allowed in this context (check the indentation"},
		{"tab", "listen: a\n\tttl: b\n", "f.yaml:2: not valid YAML:"},
		{"two documents", "listen: a\n---\nlisten: b\n", "f.yaml:2: a second YAML document"},
		{"unknown key with a close match", "lisen: a\n", `f.yaml:1: lisen: unknown key (did you mean "listen"?); valid keys: enabled, headers, list, listen, max_bytes, rate, secret, secret_env, sub, ttl`},
		{"unknown key far from all", "color: red\n", `f.yaml:1: color: unknown key; valid keys: enabled,`},
		{"unknown nested key", "sub:\n  nmae: a\n", `f.yaml:2: sub.nmae: unknown key (did you mean "name"?); valid keys: items, name`},
		{"unknown key in a list item", "list:\n  - name: a\n  - nam: b\n", `f.yaml:3: list[1].nam: unknown key (did you mean "name"?)`},
		{"key twice", "listen: a\nttl: 1s\nlisten: b\n", "f.yaml:3: listen: given twice (first at line 1); keep one"},
		{"duration as a number", "ttl: 30\n", "f.yaml:1: ttl: 30 is not a duration: write 30s for 30 seconds (a number and a unit: ms, s, m or h"},
		{"duration in days", "ttl: 7d\n", `f.yaml:1: ttl: "7d" is not a duration: write 168h for 7 days`},
		{"duration with a space", "ttl: 30 s\n", `f.yaml:1: ttl: "30 s" is not a duration: write 30s, without spaces`},
		{"duration word", "ttl: soon\n", `f.yaml:1: ttl: "soon" is not a duration: write a number and a unit`},
		{"bool", "enabled: yes\n", `f.yaml:1: enabled: "yes" is not true or false: write enabled: true or enabled: false`},
		{"integer", "max_bytes: 1MB\n", `f.yaml:1: max_bytes: "1MB" is not a whole number: write digits only, such as max_bytes: 1048576`},
		{"float", "rate: fast\n", `f.yaml:1: rate: "fast" is not a number: write digits, such as rate: 10 or rate: 0.5`},
		{"list expected", "sub: {items: x}\n", `f.yaml:1: sub.items: is the value "x" but must be a list: write [a, b]`},
		{"section expected", "sub: a\n", `f.yaml:1: sub: is the value "a" but must be a section with the keys name, items`},
		{"value expected", "listen: [a]\n", `f.yaml:1: listen: is a list but must be a single value (text): write listen: VALUE`},
		{"map expected", "headers: [a]\n", `f.yaml:1: headers: is a list but must be a section of NAME: value lines`},
		{"alias bomb", "list: [&b {items: &a [" + strings.Repeat("x, ", 1100) + "x]}" + strings.Repeat(", *b", 1000) + "]\n", "once aliases are expanded"},
		{"map key twice", "headers: {a: b, a: c}\n", `f.yaml:1: headers.a: given twice`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decode(t, tt.src)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%T), want an *Error", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestClosest(t *testing.T) {
	known := []string{"authserver", "gateway", "services"}
	for in, want := range map[string]string{"gatway": "gateway", "authsever": "authserver", "Gateway": "gateway", "servcies": "services", "logging": ""} {
		if got := Closest(in, known); got != want {
			t.Errorf("Closest(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("listen: a\nsub: {name: b, items: [c]}\nlist: [&x {name: y}, *x]\n")
	f.Add("a: &a [*a]\n")
	f.Add("<<: {listen: x}\n")
	f.Fuzz(func(t *testing.T, src string) {
		n, err := ParseDocument("f.yaml", []byte(src))
		if err != nil || n == nil {
			return
		}
		var d doc
		if err := Decode("f.yaml", n, "", &d, Lines{}); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%T is not an *Error: %v", err, err)
			}
		}
	})
}
