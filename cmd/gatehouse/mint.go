package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

func newTokenCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Mint, verify and decode tokens",
		Example: `  gatehouse token mint --key key.jwk --iss https://auth.example --aud orders --sub alice --ttl 15m > token.jwt
  gatehouse token verify --jwks key.jwk --iss https://auth.example --aud orders < token.jwt
  gatehouse token decode < token.jwt`,
		Args: noSubcommand,
		RunE: showHelp,
	}
	cmd.AddCommand(newTokenMintCmd(e), newTokenVerifyCmd(e), newTokenDecodeCmd(e))
	return cmd
}

// standardClaims maps the claim names that token.Claims has fields for to
// what sets them in 'token mint'; --claim refuses them.
var standardClaims = map[string]string{
	"iss":       "use --iss",
	"sub":       "use --sub",
	"aud":       "use --aud",
	"exp":       "it is set from the current time and --ttl",
	"nbf":       "it is set from the current time",
	"iat":       "it is set from the current time",
	"jti":       "it is set to a random id",
	"client_id": "use --client-id",
	"scope":     "use --scope",
	"scp":       "use --scope",
	"email":     "use --email",
	"name":      "use --name",
	"roles":     "use --roles",
	"groups":    "use --groups",
	"org":       "use --org",
	"act":       "token mint does not set delegation (act)",
	"sid":       "it names a login session of the auth server, which token mint has none of",
	"cnf":       "a sender-constrained token is bound by the auth server to the key its client proves (mTLS or DPoP); token mint makes bearer tokens only",
	"auth_time": "it belongs to ID tokens, which token mint does not make",
	"nonce":     "it belongs to ID tokens, which token mint does not make",
	"at_hash":   "it belongs to ID tokens, which token mint does not make",
}

type mintFlags struct {
	key, iss, sub, ttl         string
	aud, claims, roles, groups []string
	scope, org, email, name    string
	clientID, typ              string
}

func newTokenMintCmd(e *env) *cobra.Command {
	var f mintFlags
	cmd := &cobra.Command{
		Use:   "mint --key FILE --iss ISS --aud AUD --sub SUB [--ttl 15m] [flags]",
		Short: "Sign a token with a key file and print it",
		Long: `Sign a token with the private key in --key (a file written by 'gatehouse keys
generate', or a PEM private key) and print it in compact form on stdout.

iat and nbf are now, exp is now + --ttl, jti is random. The header carries the
key's alg and kid and typ at+jwt (RFC 9068) unless --typ says otherwise.

--claim name=value adds a custom claim; the value is taken as JSON when it is
valid JSON (numbers, true, false, null, arrays, objects, "quoted strings") and
as a string otherwise. Standard claims have their own flags.`,
		Example: `  gatehouse token mint --key key.jwk --iss https://auth.example --aud orders --sub alice --ttl 15m
  gatehouse token mint --key key.jwk --iss https://auth.example --aud orders --aud billing --sub alice \
      --scope "orders:read orders:write" --roles admin,support --org acme --email alice@acme.example \
      --claim tier=gold --claim level=3 --claim 'tags=["a","b"]'
  gatehouse token mint --key secret.jwk --iss accounts --aud admin --sub alice --ttl 60s --typ JWT`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := mint(cmd.CommandPath(), &f)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(e.stdout, raw)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.key, "key", "", "private key file: JWK, JWKS of one key, or PEM (required)")
	fl.StringVar(&f.iss, "iss", "", "issuer, the iss claim (required)")
	fl.StringArrayVar(&f.aud, "aud", nil, "audience, the aud claim; repeat for several (required)")
	fl.StringVar(&f.sub, "sub", "", "subject, the sub claim (required)")
	fl.StringVar(&f.ttl, "ttl", token.DefaultAccessTokenTTL.String(), "lifetime: exp is now + ttl (at least 1s)")
	fl.StringVar(&f.scope, "scope", "", `space-separated scopes, e.g. "orders:read orders:write"`)
	fl.StringSliceVar(&f.roles, "roles", nil, "comma-separated roles")
	fl.StringSliceVar(&f.groups, "groups", nil, "comma-separated groups")
	fl.StringVar(&f.org, "org", "", "organization (tenant) of the subject")
	fl.StringVar(&f.email, "email", "", "e-mail address of the subject")
	fl.StringVar(&f.name, "name", "", "display name of the subject")
	fl.StringVar(&f.clientID, "client-id", "", "OAuth client the token is issued to, the client_id claim")
	fl.StringVar(&f.typ, "typ", token.TypeAccessToken, "typ header")
	fl.StringArrayVar(&f.claims, "claim", nil, "custom claim name=value (value as JSON if valid JSON, else a string); repeatable")
	for _, name := range []string{"key", "iss", "aud", "sub"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

// mint signs the token described by f. Every error is a usage error.
func mint(path string, f *mintFlags) (string, error) {
	ttl, err := time.ParseDuration(f.ttl)
	if err != nil || ttl < time.Second {
		return "", usagef("%s: --ttl %s is not a lifetime: give a duration of at least 1s, e.g. 15m or 1h", path, quoteShort(f.ttl))
	}
	if f.iss == "" || f.sub == "" {
		return "", usagef("%s: --iss and --sub must not be empty", path)
	}
	for _, a := range f.aud {
		if a == "" {
			return "", usagef("%s: --aud must not be empty", path)
		}
	}
	c := token.Claims{
		Subject:  f.sub,
		Audience: token.Audience(f.aud),
		ClientID: f.clientID,
		Scope:    strings.Join(strings.Fields(f.scope), " "),
		Roles:    f.roles,
		Groups:   f.groups,
		Org:      f.org,
		Email:    f.email,
		Name:     f.name,
	}
	for _, kv := range f.claims {
		name, value, err := parseClaim(kv)
		if err != nil {
			return "", usagef("%s: %v", path, err)
		}
		if _, dup := c.Extra[name]; dup {
			return "", usagef("%s: --claim %s given twice", path, name)
		}
		if c.Extra == nil {
			c.Extra = map[string]any{}
		}
		c.Extra[name] = value
	}
	key, err := keys.LoadKey(f.key)
	if err != nil {
		return "", usagef("%s: cannot read the signing key: %v", path, err)
	}
	if !key.CanSign() {
		return "", usagef("%s: %s holds a public key only; minting needs the private key (make one with 'gatehouse keys generate --out key.jwk')", path, f.key)
	}
	iss, err := token.NewIssuer(f.iss, key)
	if err != nil {
		return "", usagef("%s: %v", path, err)
	}
	raw, err := iss.Sign(f.typ, c, ttl)
	if err != nil {
		return "", usagef("%s: %v", path, err)
	}
	return raw, nil
}

// parseClaim splits a --claim name=value. The value is JSON when it is
// valid JSON, a string otherwise. It never quotes the value in an error.
func parseClaim(kv string) (string, any, error) {
	name, value, ok := strings.Cut(kv, "=")
	if !ok || name == "" {
		return "", nil, fmt.Errorf("--claim wants name=value, e.g. --claim tier=gold")
	}
	if how, std := standardClaims[name]; std {
		return "", nil, fmt.Errorf("--claim %s: %s is a standard claim: %s", name, name, how)
	}
	if !json.Valid([]byte(value)) {
		return name, value, nil
	}
	dec := json.NewDecoder(strings.NewReader(value))
	dec.UseNumber() // keep integers exact
	var v any
	if err := dec.Decode(&v); err != nil {
		return name, value, nil
	}
	return name, v, nil
}
