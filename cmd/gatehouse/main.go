// Command gatehouse generates signing keys, publishes their JWKS, and mints,
// verifies and decodes tokens. Run "gatehouse --help" for the commands.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
