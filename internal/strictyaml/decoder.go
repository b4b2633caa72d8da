package strictyaml

// The decoder's walk of the yaml.Node tree: aliases (bounded in depth and
// in the values they expand to), pointers, lists, maps, struct mappings
// with their merge keys, down to the scalars of scalars.go.

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

type decoder struct {
	path    string
	lines   Lines
	depth   int
	aliased int // > 0 while decoding the target of an alias
	visits  int // values decoded inside aliases
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	nodeType        = reflect.TypeFor[yaml.Node]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
)

// maxDepth bounds nesting (aliases may loop); maxVisits the values
// decoded through aliases, which aliases of aliases could multiply
// ("billion laughs").
const (
	maxDepth  = 64
	maxVisits = 100_000
)

func (d *decoder) fail(n *yaml.Node, key, format string, args ...any) error {
	return &Error{Path: d.path, Line: n.Line, Key: key, Reason: fmt.Sprintf(format, args...)}
}

func (d *decoder) value(n *yaml.Node, key string, out reflect.Value) error {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxDepth {
		return d.fail(n, key, "nested too deeply (more than %d levels, or an alias that refers to itself)", maxDepth)
	}
	if d.aliased > 0 {
		d.visits++
	}
	if d.visits > maxVisits {
		return d.fail(n, key, "more than %d values once aliases are expanded: write the values out instead of aliases of aliases", maxVisits)
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return d.fail(n, key, "alias *%s refers to no anchor", n.Value)
		}
		d.aliased++
		defer func() { d.aliased-- }()
		return d.value(n.Alias, key, out)
	}
	t := out.Type()
	if t == nodeType {
		out.Set(reflect.ValueOf(*n))
		return nil
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(unmarshalerType) {
		if err := out.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			return d.fail(n, key, "%v", err)
		}
		return nil
	}
	if isNull(n) {
		out.SetZero()
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		if err := d.value(n, key, p.Elem()); err != nil {
			return err
		}
		out.Set(p)
		return nil
	case reflect.Struct:
		return d.mapping(n, key, out)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return d.fail(n, key, "is %s but must be a list: write [a, b] on one line, or one item per line starting with '- '", kindOf(n))
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			sub := fmt.Sprintf("%s[%d]", key, i)
			d.line(sub, c.Line)
			if err := d.value(c, sub, s.Index(i)); err != nil {
				return err
			}
		}
		out.Set(s)
		return nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return fmt.Errorf("strictyaml: map key type %s is not supported", t.Key())
		}
		if n.Kind != yaml.MappingNode {
			return d.fail(n, key, "is %s but must be a section of NAME: value lines", kindOf(n))
		}
		m := reflect.MakeMapWithSize(t, len(n.Content)/2)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return d.fail(k, key, "a key must be a plain name, not %s", kindOf(k))
			}
			sub := Join(key, k.Value)
			if first, ok := seen[k.Value]; ok {
				return d.fail(k, sub, "given twice (first at line %d); keep one", first)
			}
			seen[k.Value] = k.Line
			d.line(sub, k.Line)
			e := reflect.New(t.Elem()).Elem()
			if err := d.value(v, sub, e); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), e)
		}
		out.Set(m)
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return d.fail(n, key, "is %s but must be a single value (%s): write %s: VALUE", kindOf(n), typeWord(t), lastKey(key))
	}
	return d.scalar(n, key, out)
}

func (d *decoder) line(key string, line int) {
	if d.lines != nil {
		d.lines[key] = line
	}
}

func (d *decoder) mapping(n *yaml.Node, key string, out reflect.Value) error {
	fields := FieldsOf(out.Type())
	if n.Kind != yaml.MappingNode {
		where := "the keys " + strings.Join(names(fields), ", ")
		return d.fail(n, key, "is %s but must be a section with %s, one per line below it, indented", kindOf(n), where)
	}
	if f, ok := out.Type().FieldByName("Line"); ok && f.Type.Kind() == reflect.Int && f.Tag.Get("yaml") == "-" {
		out.FieldByIndex(f.Index).SetInt(int64(n.Line))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return d.fail(k, key, "a key must be a plain name, not %s", kindOf(k))
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			if err := d.merge(v, key, out); err != nil {
				return err
			}
			continue
		}
		sub := Join(key, k.Value)
		if first, ok := seen[k.Value]; ok {
			return d.fail(k, sub, "given twice (first at line %d); keep one", first)
		}
		seen[k.Value] = k.Line
		f, ok := fieldNamed(fields, k.Value)
		if !ok {
			return d.fail(k, sub, "%s", UnknownKey(k.Value, names(fields)))
		}
		d.line(sub, k.Line)
		if err := d.value(v, sub, out.FieldByIndex(f.Index)); err != nil {
			return err
		}
	}
	return nil
}

// merge applies a YAML merge key (<<: *anchor or a list of them).
func (d *decoder) merge(v *yaml.Node, key string, out reflect.Value) error {
	if v.Kind == yaml.SequenceNode {
		for _, c := range v.Content {
			if err := d.value(c, key, out); err != nil {
				return err
			}
		}
		return nil
	}
	return d.value(v, key, out)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a section (key: value lines)"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %s", quote(n.Value))
	}
	return "something else"
}
