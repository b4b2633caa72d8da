// Package strictyaml decodes the YAML of gatehouse.yaml into Go structs,
// strictly and with messages an operator can act on. It is the one decoder
// of every section (internal/config for the file, package gateway for its
// section): an unknown key names the closest valid key and lists them all, a
// wrong type says what to write instead ("write 30s"), a key given twice is
// refused, and every error carries the file, the line and the key path.
//
// Decoding walks the yaml.Node tree by reflection over the yaml struct tags:
// strings, booleans, integers, floats, time.Duration (written as 30s, 15m,
// 1h), pointers, slices, map[string]T, yaml.Node and types that implement
// yaml.Unmarshaler (kept as they are, for raw sections).
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is a configuration error: the file, the line (0 when unknown), the
// key path ("gateway.routes[2].cors") and the reason, which says what is
// wrong and how to fix it.
type Error struct {
	Path   string
	Line   int
	Key    string
	Reason string
}

// Error is "FILE:LINE: key: reason".
func (e *Error) Error() string {
	loc := e.Path
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.Path, e.Line)
	}
	if e.Key == "" {
		return loc + ": " + e.Reason
	}
	return loc + ": " + e.Key + ": " + e.Reason
}

// Join appends sub to the key path key ("a" + "b" is "a.b").
func Join(key, sub string) string {
	if key == "" {
		return sub
	}
	return key + "." + sub
}

// Lines maps key paths ("authserver.listen", "gateway.routes[0]") to the
// line of the key in the file, for messages about values after decoding.
type Lines map[string]int

// Of returns the line of key, or of the closest enclosing key that has
// one ("" is the root: the line of the mapping that was decoded).
func (l Lines) Of(key string) int {
	for {
		if n, ok := l[key]; ok {
			return n
		}
		if key == "" {
			return 0
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			i = 0
		}
		key = key[:i]
	}
}

var lineRE = regexp.MustCompile(`line (\d+): `)

// ParseDocument parses data as one YAML document and returns its root node
// (nil for an empty document). Syntax errors are *Error with the line.
func ParseDocument(path string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(path, err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		return nil, &Error{Path: path, Line: more.Line, Reason: "a second YAML document (after ---): the file holds one document; remove the --- line and what follows, or merge it into the first"}
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(path, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

func syntaxError(path string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := lineRE.FindStringSubmatchIndex(msg); m != nil {
		line, _ = strconv.Atoi(msg[m[2]:m[3]])
		msg = msg[:m[0]] + msg[m[1]:]
	}
	return &Error{Path: path, Line: line, Reason: "not valid YAML: " + msg + " (check the indentation, which must be spaces, and quote values that hold ': ' or start with a special character such as *, & or @)"}
}

// Decode fills v (a pointer) from node n. key is the key path of n in the
// file ("" for the root, "gateway" for a section); path names the file in
// errors. lines, when not nil, receives the line of every key decoded.
// A struct field `Line int` tagged `yaml:"-"` receives the line of the
// struct's mapping.
func Decode(path string, n *yaml.Node, key string, v any, lines Lines) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("strictyaml: Decode needs a non-nil pointer, got %T", v)
	}
	d := &decoder{path: path, lines: lines}
	if lines != nil && n != nil {
		if _, ok := lines[key]; !ok {
			lines[key] = n.Line
		}
	}
	return d.value(n, key, rv.Elem())
}
