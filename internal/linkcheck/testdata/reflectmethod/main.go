// Command reflectmethod executes a text/template, which reaches
// reflect.Value.MethodByName: the known positive of
// TestReleaseBuildKeepsDeadCodeElimination's parse of the linker's
// dependency dump.
package main

import (
	"os"
	"text/template"
)

func main() {
	template.Must(template.New("t").Parse("{{.}}\n")).Execute(os.Stdout, "hello")
}
