package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// remoteTimeout bounds fetching a remote JWKS.
const remoteTimeout = 10 * time.Second

type verifyFlags struct {
	jwks, iss, aud, leeway string
	types, algs            []string
	anyType                bool
}

func newTokenVerifyCmd(e *env) *cobra.Command {
	var f verifyFlags
	cmd := &cobra.Command{
		Use:   "verify --jwks FILE|URL --iss ISS --aud AUD [flags] [TOKEN|-]",
		Short: "Verify a token's signature and claims and print its claims",
		Long: `Verify a token as a resource server does: the key chosen by kid from --jwks
only, the algorithm allowed and equal to the key's, the signature, typ, iss,
aud, exp, nbf and iat (with --leeway). The token is the argument, or stdin
when the argument is '-' or absent.

--jwks is an http(s) URL of a JWK Set (fetched with a 10s timeout) or a file
holding JWKs, a JWK Set or PEM keys. A file may hold an HS256 shared secret:
HS256 is then allowed too, unless --alg says otherwise.

Valid: exit 0 and the claims as JSON on stdout. Invalid: exit 1 and one line
on stderr saying why. The keys could not be fetched: exit 1, saying that the
token could not be checked.`,
		Example: `  gatehouse token verify --jwks key.jwk --iss https://auth.example --aud orders < token.jwt
  gatehouse token verify --jwks https://auth.example/.well-known/jwks.json --iss https://auth.example --aud orders "$TOKEN"
  gatehouse token mint --key key.jwk --iss me --aud you --sub alice | gatehouse token verify --jwks key.jwk --iss me --aud you -
  gatehouse token verify --jwks jwks.json --iss https://auth.example --aud orders --alg ES256,EdDSA --leeway 1m < token.jwt`,
		Args: tokenArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := newVerifier(cmd.CommandPath(), &f)
			if err != nil {
				return err
			}
			raw, err := readToken(e, cmd, args)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), remoteTimeout)
			defer cancel()
			claims, err := v.Verify(ctx, raw)
			if errors.Is(err, token.ErrUnavailable) {
				return invalidf("could not check the token (neither valid nor invalid): %s%s", err, redact(causeOf(err), f.jwks))
			}
			if err != nil {
				return invalidf("invalid token: %v", err)
			}
			var out bytes.Buffer
			if err := json.Indent(&out, claims.Raw(), "", "  "); err != nil {
				return err
			}
			out.WriteByte('\n')
			_, err = e.stdout.Write(out.Bytes())
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.jwks, "jwks", "", "http(s) URL of a JWK Set, or a key file (JWK, JWKS or PEM) (required)")
	fl.StringVar(&f.iss, "iss", "", "expected issuer, compared exactly (required)")
	fl.StringVar(&f.aud, "aud", "", "expected audience: aud must contain it (required)")
	fl.StringVar(&f.leeway, "leeway", token.DefaultLeeway.String(), "clock skew tolerated on exp, nbf and iat (at most 5m)")
	fl.StringSliceVar(&f.types, "typ", []string{token.TypeAccessToken}, "accepted typ header values, comma-separated")
	fl.BoolVar(&f.anyType, "any-type", false, "accept any typ header (gives up telling access tokens from ID tokens)")
	fl.StringSliceVar(&f.algs, "alg", nil, "allowed algorithms, comma-separated (default ES256,EdDSA,RS256,PS256, plus HS256 for a file with an HS256 key)")
	for _, name := range []string{"jwks", "iss", "aud"} {
		_ = cmd.MarkFlagRequired(name)
	}
	cmd.MarkFlagsMutuallyExclusive("typ", "any-type")
	return cmd
}

// newVerifier builds the verifier of f. Every error is a usage error.
func newVerifier(path string, f *verifyFlags) (*token.Verifier, error) {
	if f.iss == "" || f.aud == "" {
		return nil, usagef("%s: --iss and --aud must not be empty: the issuer and audience are always checked", path)
	}
	leeway, err := time.ParseDuration(f.leeway)
	if err != nil || leeway < 0 || leeway > 5*time.Minute {
		return nil, usagef("%s: --leeway %s is not a clock skew: give a duration from 0s to 5m, e.g. 30s", path, quoteShort(f.leeway))
	}
	src, symmetric, err := keySource(f.jwks)
	if err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	opts := []token.VerifierOption{token.WithCacheSize(0), token.WithLeeway(leeway)}
	if f.anyType {
		opts = append(opts, token.WithAnyType())
	} else {
		if len(f.types) == 0 {
			return nil, usagef("%s: --typ needs a value; use --any-type to accept any typ", path)
		}
		opts = append(opts, token.WithTypes(f.types...))
	}
	algs := []keys.Algorithm{keys.ES256, keys.EdDSA, keys.RS256, keys.PS256}
	if symmetric {
		algs = append(algs, keys.HS256)
	}
	if len(f.algs) > 0 {
		algs = algs[:0]
		for _, s := range f.algs {
			a, err := keys.ParseAlgorithm(s)
			if err != nil {
				return nil, usagef("%s: --alg %s is not supported: use ES256, EdDSA, RS256, PS256 or HS256", path, quoteShort(s))
			}
			algs = append(algs, a)
		}
	}
	opts = append(opts, token.WithAlgorithms(algs...))
	v, err := token.NewVerifier(src, f.iss, f.aud, opts...)
	if err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	return v, nil
}

// keySource returns the source of --jwks: a remote JWKS for an http(s) URL,
// the keys of a file otherwise. symmetric reports an HS256 key in the file.
func keySource(jwks string) (src keys.Source, symmetric bool, err error) {
	if lower := strings.ToLower(jwks); strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		r, err := keys.NewRemote(jwks, keys.WithFetchTimeout(remoteTimeout))
		if err != nil {
			return nil, false, errors.New(redact(err.Error(), jwks))
		}
		return r, false, nil
	}
	ks, err := keys.Load(jwks)
	if err != nil {
		return nil, false, err
	}
	for _, k := range ks {
		if k.Algorithm().Symmetric() {
			symmetric = true
		}
	}
	s, err := keys.NewStatic(ks...)
	if err != nil {
		return nil, false, err
	}
	return s, symmetric, nil
}

// causeOf returns ": " and the internal cause of a token error, such as why a
// JWKS could not be fetched, or "" when there is none.
func causeOf(err error) string {
	var te *token.Error
	if !errors.As(err, &te) {
		return ""
	}
	for _, e := range te.Unwrap() {
		if e != te.Kind {
			return ": " + e.Error()
		}
	}
	return ""
}

// redact hides a password in the URL jwks wherever msg repeats it.
func redact(msg, jwks string) string {
	u, err := url.Parse(jwks)
	if err != nil || u.User == nil {
		return msg
	}
	return strings.ReplaceAll(msg, jwks, u.Redacted())
}
