package main

import (
	"bytes"
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse/token"
)

func newTokenDecodeCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "decode [TOKEN|-]",
		Short: "Print a token's header and claims WITHOUT verifying anything",
		Long: `Print the header and claims of a compact JWS as JSON, for debugging. Nothing
is verified: not the signature, not a single claim. The first line of the
output says so; never base a decision on it (use 'gatehouse token verify').
The token is the argument, or stdin when the argument is '-' or absent.
A token that cannot be decoded exits with 1.`,
		Example: `  gatehouse token decode < token.jwt
  gatehouse token decode "$TOKEN"
  gatehouse token decode - < token.jwt | tail -n +2 | jq .claims.exp`,
		Args: tokenArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := readToken(e, cmd, args)
			if err != nil {
				return err
			}
			header, claims, err := token.ParseUnverified(raw)
			if err != nil {
				return invalidf("cannot decode the token: %v", err)
			}
			// RFC 7515 §4 and RFC 7519 §7.2: both parts are JSON objects.
			if !isObject(header) || !isObject(claims) {
				return invalidf("cannot decode the token: its header or claims are not a JSON object")
			}
			var out bytes.Buffer
			out.WriteString("# UNVERIFIED: signature and claims not checked\n")
			enc := json.NewEncoder(&out)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(struct {
				Header json.RawMessage `json:"header"`
				Claims json.RawMessage `json:"claims"`
			}{header, claims}); err != nil {
				return invalidf("cannot decode the token: %v", err)
			}
			_, err = e.stdout.Write(out.Bytes())
			return err
		},
	}
}

func isObject(v json.RawMessage) bool {
	v = bytes.TrimLeft(v, " \t\r\n")
	return len(v) > 0 && v[0] == '{'
}
