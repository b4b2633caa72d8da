package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse/keys"
)

func newKeysCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Generate signing keys, publish their public JWKS, rotate the auth server's key and seal it at rest",
		Example: `  gatehouse keys generate --alg ES256 --out signing.jwk
  gatehouse keys jwks signing.jwk > jwks.json
  gatehouse keys rotate --data ./gatehouse-data
  gatehouse keys secret --out key-secret
  gatehouse keys reencrypt --data ./gatehouse-data --secret-file key-secret`,
		Args: noSubcommand,
		RunE: showHelp,
	}
	cmd.AddCommand(newKeysGenerateCmd(e), newKeysJWKSCmd(e), newKeysRotateCmd(e), newKeysSecretCmd(e), newKeysReencryptCmd(e))
	return cmd
}

func newKeysGenerateCmd(e *env) *cobra.Command {
	var (
		alg, out, kid string
		bits          int
		force         bool
	)
	cmd := &cobra.Command{
		Use:   "generate --out FILE [--alg ES256|EdDSA|RS256|PS256|HS256] [--kid KID] [--bits N] [--force]",
		Short: "Generate a signing key and write it as a private JWK (mode 0600)",
		Long: `Generate a new random signing key and write it, with its private part, as a
JWK to the file given by --out, readable by its owner only (mode 0600). The
key is never printed. The file is refused if it exists, unless --force is given.

The kid defaults to the key's RFC 7638 thumbprint. ES256 is the default
algorithm; HS256 makes a 32-byte shared secret for the shared-secret mode,
which has no public form (prefer an asymmetric algorithm).`,
		Example: `  gatehouse keys generate --alg ES256 --out key.jwk
  gatehouse keys generate --alg RS256 --bits 3072 --kid 2025-06 --out rsa.jwk
  gatehouse keys generate --alg HS256 --out secret.jwk --force`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := cmd.CommandPath()
			a, err := keys.ParseAlgorithm(alg)
			if err != nil {
				return usagef("%s: --alg %q is not supported: use ES256 (default), EdDSA, RS256, PS256 or HS256", path, alg)
			}
			if out == "" || out == "-" {
				return usagef("%s: --out needs a file path: private keys are never printed", path)
			}
			var opts []keys.KeyOption
			if kid != "" {
				opts = append(opts, keys.WithID(kid))
			}
			if cmd.Flags().Changed("bits") {
				if a != keys.RS256 && a != keys.PS256 {
					return usagef("%s: --bits applies to RS256 and PS256 only, not %s", path, a)
				}
				if bits < keys.MinRSABits {
					return usagef("%s: --bits %d is too weak: RSA keys need at least %d bits", path, bits, keys.MinRSABits)
				}
				opts = append(opts, keys.WithRSABits(bits))
			}
			if !force {
				if _, err := os.Lstat(out); err == nil {
					return usagef("%s: %s already exists: choose another --out, or pass --force to replace it", path, out)
				}
			}
			k, err := keys.Generate(a, opts...)
			if err != nil {
				return usagef("%s: %v", path, err)
			}
			save := keys.Save
			if force {
				save = keys.Replace
			}
			if err := save(out, k); err != nil {
				return usagef("%s: cannot write %s: %v", path, out, err)
			}
			fmt.Fprintf(e.stdout, "wrote %s key kid=%s to %s (mode 0600)\n", k.Algorithm(), k.ID(), out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "file to write the private JWK to (required; never printed)")
	f.StringVar(&alg, "alg", string(keys.Default), "algorithm: ES256, EdDSA, RS256, PS256 or HS256")
	f.StringVar(&kid, "kid", "", "key ID (default: the key's RFC 7638 thumbprint)")
	f.IntVar(&bits, "bits", keys.MinRSABits, "RSA modulus size for RS256 and PS256 (at least 2048)")
	f.BoolVar(&force, "force", false, "replace --out if it exists")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func newKeysJWKSCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "jwks FILE [FILE...]",
		Short: "Print the public JWK Set of key files",
		Long: `Print the public JWK Set (RFC 7517 §5) of the keys in the given files, ready to
serve at an issuer's jwks_uri or to pass to 'gatehouse token verify --jwks'.
Files may hold a JWK, a JWK Set or PEM keys or certificates. Private members
are never written. HS256 keys are shared secrets and have no public form:
they are refused.`,
		Example: `  gatehouse keys jwks key.jwk > jwks.json
  gatehouse keys jwks current.jwk previous.jwk > jwks.json
  gatehouse keys jwks server.pem`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("%s: no key file given: pass one or more files, e.g. '%s key.jwk'", cmd.CommandPath(), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			path := cmd.CommandPath()
			var all []*keys.Key
			from := map[string]string{} // kid -> file
			for _, file := range args {
				ks, err := keys.Load(file)
				if err != nil {
					return usagef("%s: cannot read keys: %v", path, err)
				}
				for _, k := range ks {
					if k.Algorithm().Symmetric() {
						return usagef("%s: %s: key %s is an HS256 shared secret, and shared secrets have no public form; give its file to the verifier itself ('gatehouse token verify --jwks %s')",
							path, file, k.ID(), file)
					}
					if prev, dup := from[k.ID()]; dup {
						if i := indexOfKid(all, k.ID()); i >= 0 && all[i].SameKey(k) {
							continue // the same key given twice
						}
						return usagef("%s: kid %s names different keys in %s and %s: give one of them another kid", path, k.ID(), prev, file)
					}
					from[k.ID()] = file
					all = append(all, k)
				}
			}
			data, err := keys.MarshalJWKS(all...)
			if err != nil {
				return usagef("%s: %v", path, err)
			}
			var buf bytes.Buffer
			if err := json.Indent(&buf, data, "", "  "); err != nil {
				return usagef("%s: %v", path, err)
			}
			buf.WriteByte('\n')
			_, err = e.stdout.Write(buf.Bytes())
			return err
		},
	}
}

func indexOfKid(ks []*keys.Key, kid string) int {
	for i, k := range ks {
		if k.ID() == kid {
			return i
		}
	}
	return -1
}
