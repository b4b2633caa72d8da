package gateway

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Keys that moved within the gateway section. The old spelling still
// loads, as the new one would, and the section keeps a warning with its
// line (Config.Warnings), so that a fleet can take the new binary first
// and change its files after: a file with the new key does not load in
// an older binary, which refuses unknown keys. Both spellings at once are
// refused, since they could disagree.

// movedKey is a key of a subsection that moved.
type movedKey struct {
	section, key string // the old place: ratelimit, on_revocation_unavailable
	to           string // the new key path: revocation.on_unavailable
	field        func(*Config) *string
	check        func(string) error
}

var movedKeys = []movedKey{{
	section: "ratelimit", key: "on_revocation_unavailable", to: "revocation.on_unavailable",
	field: func(c *Config) *string { return &c.Revocation.OnUnavailable },
	check: checkOnUnavailable,
}}

// movedValue is a value found under an old key.
type movedValue struct {
	movedKey
	value string
	line  int
}

// takeMoved returns root without the keys of movedKeys, and their values.
// root itself is not changed: the mappings on the way are copied.
func takeMoved(path string, root *yaml.Node) (*yaml.Node, []movedValue, error) {
	var found []movedValue
	for _, mk := range movedKeys {
		si, sec := entry(root, mk.section)
		if sec == nil || sec.Kind != yaml.MappingNode {
			continue // the decoder reports what is wrong with it
		}
		ki, v := entry(sec, mk.key)
		if v == nil {
			continue
		}
		old := mk.section + "." + mk.key
		if v.Kind != yaml.ScalarNode {
			return nil, nil, &ConfigError{Path: path, Line: v.Line, Key: old, Reason: fmt.Sprintf("must be closed or open; the key is deprecated too: write %s instead", mk.to)}
		}
		found = append(found, movedValue{movedKey: mk, value: v.Value, line: sec.Content[ki-1].Line})
		sec2 := *sec
		sec2.Content = append(append([]*yaml.Node{}, sec.Content[:ki-1]...), sec.Content[ki+1:]...)
		root2 := *root
		root2.Content = append([]*yaml.Node{}, root.Content...)
		root2.Content[si] = &sec2
		root = &root2
	}
	return root, found, nil
}

// entry returns the index and the value node of key in mapping n, or nil.
func entry(n *yaml.Node, key string) (int, *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return 0, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			return i + 1, n.Content[i+1]
		}
	}
	return 0, nil
}

// applyMoved sets the new fields from the values of old keys, refuses a
// key given in both spellings and records a warning per old key.
func (c *Config) applyMoved(moved []movedValue) error {
	for _, m := range moved {
		old := m.section + "." + m.key
		if line := c.lines[m.to]; line > 0 {
			return c.errAt(m.line, old, "deprecated, and given as %s too (line %d): keep that one and remove this one", m.to, line)
		}
		if err := m.check(m.value); err != nil {
			return c.errAt(m.line, old, "%v", err)
		}
		*m.field(c) = m.value
		c.warnings = append(c.warnings, c.errAt(m.line, old, "deprecated: the key moved to %s (same values); write it there, this spelling will be refused in a later release", m.to))
	}
	return nil
}
