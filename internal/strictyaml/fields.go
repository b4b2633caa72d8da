package strictyaml

// The keys of a struct as YAML sees them, and the matching of an unknown key
// to the closest known one.

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

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
