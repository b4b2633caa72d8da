package config

import "go.yaml.in/yaml/v3"

// Raw is a section kept as YAML for the component that reads it (the
// gateway section for package gateway), with the file's line numbers.
// yaml.v3 fills a *yaml.Node field only as a struct, and with KnownFields
// it refuses every key of it; Raw takes the node as it is.
type Raw struct {
	yaml.Node
}

// UnmarshalYAML keeps the node.
func (r *Raw) UnmarshalYAML(n *yaml.Node) error {
	r.Node = *n
	return nil
}
