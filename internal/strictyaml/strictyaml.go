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
	"slices"
	"strconv"
	"strings"
	"time"

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

// UnknownKey is the reason for an unknown key among known: the closest
// known key when there is one, then all of them.
func UnknownKey(name string, known []string) string {
	known = slices.Sorted(slices.Values(known))
	msg := "unknown key"
	if c := Closest(name, known); c != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", c)
	}
	if len(known) == 0 {
		return msg + "; this section takes no keys"
	}
	return msg + "; valid keys: " + strings.Join(known, ", ")
}

// Closest returns the element of known nearest to name in edit distance,
// when it is near enough to be a typo, or "".
func Closest(name string, known []string) string {
	best, bestD := "", 0
	for _, k := range known {
		d := distance(strings.ToLower(name), strings.ToLower(k))
		if best == "" || d < bestD {
			best, bestD = k, d
		}
	}
	limit := max(2, len(name)/3)
	if best == "" || bestD > limit {
		return ""
	}
	return best
}

// distance is the Levenshtein distance with adjacent transpositions.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

func (d *decoder) scalar(n *yaml.Node, key string, out reflect.Value) error {
	t := out.Type()
	v := n.Value
	switch {
	case t == durationType:
		dur, err := ParseDuration(v)
		if err != nil {
			return d.fail(n, key, "%v", err)
		}
		out.SetInt(int64(dur))
		return nil
	case t.Kind() == reflect.String:
		out.SetString(v)
		return nil
	case t.Kind() == reflect.Bool:
		switch n.ShortTag() {
		case "!!bool":
			out.SetBool(strings.EqualFold(v, "true"))
			return nil
		}
		return d.fail(n, key, "%s is not true or false: write %s: true or %s: false", quote(v), lastKey(key), lastKey(key))
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		i, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 0, t.Bits())
		if err != nil || n.ShortTag() != "!!int" {
			return d.fail(n, key, "%s is not a whole number: write digits only, such as %s: %s", quote(v), lastKey(key), exampleInt(key))
		}
		out.SetInt(i)
		return nil
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64:
		u, err := strconv.ParseUint(strings.ReplaceAll(v, "_", ""), 0, t.Bits())
		if err != nil || n.ShortTag() != "!!int" {
			return d.fail(n, key, "%s is not a whole number of zero or more: write digits only, such as %s: %s", quote(v), lastKey(key), exampleInt(key))
		}
		out.SetUint(u)
		return nil
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(strings.ReplaceAll(v, "_", ""), t.Bits())
		if err != nil || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
			return d.fail(n, key, "%s is not a number: write digits, such as %s: 10 or %s: 0.5", quote(v), lastKey(key), lastKey(key))
		}
		out.SetFloat(f)
		return nil
	}
	return fmt.Errorf("strictyaml: %s: type %s is not supported", key, t)
}

// ParseDuration reads a duration as gatehouse.yaml writes it ("30s",
// "15m", "1h30m"). Its error says what to write instead: "30 is not a
// duration: write 30s ...".
func ParseDuration(v string) (time.Duration, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return d, nil
	}
	const units = "a number and a unit: ms, s, m or h, such as 500ms, 30s, 15m or 1h30m"
	s := strings.TrimSpace(v)
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, fmt.Errorf("%s is not a duration: write %ss for %s seconds (%s)", s, s, s, units)
	}
	if num, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(num); err == nil {
			return 0, fmt.Errorf("%s is not a duration: write %dh for %d days (%s)", quote(v), 24*days, days, units)
		}
	}
	if t := strings.ReplaceAll(s, " ", ""); t != s {
		if _, err := time.ParseDuration(t); err == nil {
			return 0, fmt.Errorf("%s is not a duration: write %s, without spaces", quote(v), t)
		}
	}
	return 0, fmt.Errorf("%s is not a duration: write %s", quote(v), units)
}

func exampleInt(key string) string {
	if strings.HasSuffix(key, "bytes") {
		return "1048576"
	}
	return "10"
}

func quote(v string) string {
	if len(v) > 40 {
		v = v[:40] + "..."
	}
	return strconv.Quote(v)
}

func lastKey(key string) string {
	if i := strings.LastIndexAny(key, "."); i >= 0 {
		key = key[i+1:]
	}
	if i := strings.IndexByte(key, '['); i >= 0 {
		key = key[:i]
	}
	if key == "" {
		return "KEY"
	}
	return key
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

// typeWord names what a value of t is written as.
func typeWord(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration such as 30s"
	case t.Kind() == reflect.String:
		return "text"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "a whole number"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	}
	return t.String()
}

// Field is a key of a struct as YAML sees it.
type Field struct {
	Name  string // the yaml key
	Index []int  // for reflect.Value.FieldByIndex
	Type  reflect.Type
}

// FieldsOf lists the yaml keys of struct type t, with the fields of
// `yaml:",inline"` structs in place, in declaration order.
func FieldsOf(t reflect.Type) []Field {
	var out []Field
	var collect func(t reflect.Type, index []int)
	collect = func(t reflect.Type, index []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			idx := append(slices.Clone(index), i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if opts == "inline" && f.Type.Kind() == reflect.Struct {
				collect(f.Type, idx)
				continue
			}
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			out = append(out, Field{Name: name, Index: idx, Type: f.Type})
		}
	}
	collect(t, nil)
	return out
}

func fieldNamed(fs []Field, name string) (Field, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

func names(fs []Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}
