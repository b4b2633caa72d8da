package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/token"
)

// revocationSpan is how long an admin revocation (disabled user, deleted
// client) stays on the deny list: the longest access token lifetime the
// auth server issues (24h for a client's own TTL) plus the verifiers'
// leeway. Tokens it matches have expired by then.
const revocationSpan = 24*time.Hour + token.DefaultLeeway

// reloadNote says when running auth servers see a revocation.
const reloadNote = "its access tokens are on the deny list, which running auth servers apply at their next reload (within 30s)"

// withStore opens the store the flags choose, runs f and closes the store.
func withStore(cmd *cobra.Command, sf *storeFlags, create bool, f func(identity.Store) error) error {
	st, err := sf.open(cmd, create)
	if err != nil {
		return err
	}
	defer st.Close()
	return f(st)
}

// storeError reports a failure of the store (exit 2, like every failure
// that is not a token's).
func storeError(cmd *cobra.Command, err error) error {
	return usagef("%s: the store failed: %v", cmd.CommandPath(), err)
}

// oneArg accepts exactly one positional argument named what.
func oneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usagef("%s: takes one %s, got %d arguments; run '%s --help' for usage", cmd.CommandPath(), what, len(args), cmd.CommandPath())
		}
		return nil
	}
}

// checkName refuses a username or client id that would be hard to type,
// log or put in a URL: empty, longer than 128 bytes, or with white space
// or control characters.
func checkName(cmd *cobra.Command, what, s string) error {
	if s == "" || len(s) > 128 || strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return usagef("%s: %s %s must be 1 to 128 characters without spaces or control characters", cmd.CommandPath(), what, quoteShort(s))
	}
	return nil
}

// cleanList trims the items of a comma-separated flag and drops empty and
// repeated ones.
func cleanList(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// cell is a table cell: the items joined by commas, or "-" when empty.
func cell(items ...string) string {
	s := strings.Join(cleanList(items), ",")
	if s == "" {
		return "-"
	}
	return s
}

// yesNo is a boolean table cell.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// durationCell is a lifetime cell: "default" for zero.
func durationCell(d time.Duration) string {
	if d == 0 {
		return "default"
	}
	return d.String()
}

// printf writes to the command's stdout.
func printf(e *env, format string, args ...any) {
	fmt.Fprintf(e.stdout, format, args...)
}
