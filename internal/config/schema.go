package config

import (
	"encoding/json"
	"reflect"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehousehq/gatehouse/internal/strictyaml"
)

// Key is one key of gatehouse.yaml as the loader decodes it, found by
// reflection over the same structs: docs/configuration.md lists every Key
// (a test holds it to that) and the JSON Schema for editors is generated
// from them.
type Key struct {
	// Path is the key path, with [] for the items of a list:
	// "gateway.routes[].cors.max_age".
	Path string
	// Type is how the value is written: text, duration, true/false, whole
	// number, number, list of text, section, list of sections, map of
	// text, any.
	Type string

	t reflect.Type
}

// Keys lists every key of gatehouse.yaml, in file order (sections first,
// then their keys).
func Keys() []Key {
	var out []Key
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for _, f := range strictyaml.FieldsOf(t) {
			path := strictyaml.Join(prefix, f.Name)
			ft := deref(f.Type)
			out = append(out, Key{Path: path, Type: typeName(ft), t: ft})
			switch {
			case isSection(ft):
				walk(path, ft)
			case ft.Kind() == reflect.Slice && isSection(deref(ft.Elem())):
				walk(path+"[]", deref(ft.Elem()))
			}
		}
	}
	walk("", reflect.TypeFor[File]())
	return out
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
)

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// isSection: a struct the decoder walks key by key (not a raw section).
func isSection(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(unmarshalerType)
}

func typeName(t reflect.Type) string {
	t = deref(t)
	switch {
	case t == durationType:
		return "duration"
	case isSection(t):
		return "section"
	case t.Kind() == reflect.Struct:
		return "any"
	case t.Kind() == reflect.String:
		return "text"
	case t.Kind() == reflect.Bool:
		return "true/false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "whole number"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "number"
	case t.Kind() == reflect.Slice:
		e := typeName(t.Elem())
		if e == "section" {
			return "list of sections"
		}
		return "list of " + e
	case t.Kind() == reflect.Map:
		return "map of " + typeName(t.Elem())
	}
	return t.String()
}

// SchemaID is the $id of the JSON Schema of gatehouse.yaml.
const SchemaID = "https://gatehouse.dev/schemas/gatehouse.schema.json"

// JSONSchema returns a JSON Schema (draft 2020-12) of gatehouse.yaml for
// editors (the YAML language server reads it), generated from the structs
// the loader decodes. descriptions maps key paths (as in Keys) to the text
// shown for them; docs/configuration.md is where they come from. Unknown
// keys are refused, as the loader refuses them; checks beyond types (a
// valid URL, a client with a secret) are the loader's.
func JSONSchema(descriptions map[string]string) ([]byte, error) {
	root := schemaOf("", reflect.TypeFor[File](), descriptions)
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "gatehouse.yaml"
	root["description"] = "The configuration of 'gatehouse serve': sections authserver, gateway and services. Reference: docs/configuration.md."
	b, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func schemaOf(path string, t reflect.Type, desc map[string]string) map[string]any {
	t = deref(t)
	s := map[string]any{}
	if d := desc[path]; d != "" {
		s["description"] = d
	}
	switch {
	case t == durationType:
		s["type"] = "string"
		s["pattern"] = `^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$`
	case isSection(t):
		s["type"] = "object"
		props := map[string]any{}
		for _, f := range strictyaml.FieldsOf(t) {
			props[f.Name] = schemaOf(strictyaml.Join(path, f.Name), f.Type, desc)
		}
		s["properties"] = props
		s["additionalProperties"] = false
	case t.Kind() == reflect.Struct:
		// a raw section: anything
	case t.Kind() == reflect.String:
		s["type"] = "string"
	case t.Kind() == reflect.Bool:
		s["type"] = "boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		s["type"] = "integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		s["type"] = "number"
	case t.Kind() == reflect.Slice:
		s["type"] = "array"
		item := path + "[]"
		s["items"] = schemaOf(item, t.Elem(), desc)
	case t.Kind() == reflect.Map:
		s["type"] = "object"
		s["additionalProperties"] = schemaOf(path+".*", t.Elem(), desc)
	}
	return s
}

// keyPaths returns the paths of keys, sorted (for tests and messages).
func keyPaths(keys []Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Path
	}
	slices.Sort(out)
	return out
}
