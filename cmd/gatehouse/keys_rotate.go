package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/keys"
)

func newKeysRotateCmd(e *env) *cobra.Command {
	var (
		sf    storeFlags
		kf    secretFlags
		alg   string
		ahead time.Duration
	)
	cmd := &cobra.Command{
		Use:   "rotate [--alg ES256|EdDSA|RS256|PS256]",
		Short: "Make a new signing key active in the auth server's store",
		Long: `Generate a signing key and make it the next key of the auth server's store
(--data DIR, default ./gatehouse-data; --store postgres://...; or --config
FILE). Running auth servers publish it in their JWKS from their next reload
(within 30s) and all switch to signing with it --publish-ahead later (default
6m: the reload, the 5 minutes verifiers may cache the JWKS, and a margin), so
that no gateway or service meets its kid before it has the key; the
previous key signs until then, stays in the JWKS, and tokens signed with it
keep verifying until they expire. The private key never leaves the store
and is never printed; it is sealed under the key-encryption secret of
--config's authserver.key_encryption (or of --secret-env / --secret-file),
and a store whose keys are sealed refuses a new key without it.`,
		Example: `  gatehouse keys rotate
  gatehouse keys rotate --alg EdDSA --config gatehouse.yaml
  gatehouse keys rotate --publish-ahead 0   # one auth server, verifiers that refetch on a new kid`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := cmd.CommandPath()
			a, err := keys.ParseAlgorithm(alg)
			if err != nil || a.Symmetric() {
				return usagef("%s: --alg %s is not supported: use ES256 (default), EdDSA, RS256 or PS256", path, quoteShort(alg))
			}
			if ahead < 0 {
				return usagef("%s: --publish-ahead %s is negative: give a duration like 6m, or 0", path, ahead)
			}
			st, sealer, err := openKeyStore(cmd, &sf, &kf) // keys_seal.go
			if err != nil {
				return err
			}
			defer st.Close()
			now := time.Now()
			kid, from, err := authserver.RotateKey(cmd.Context(), st, a, now, ahead)
			if err != nil {
				return keyStoreError(cmd, err)
			}
			printf(e, "new %s signing key %s: published from the auth servers' next reload, signs from %s (in %s)\n",
				a, kid, from.UTC().Format(time.RFC3339), from.Sub(now).Round(time.Second))
			printf(e, "Until then the previous key signs; tokens signed with it keep verifying until they expire.\n")
			if sealer == nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: note: the key is stored in clear: give the key-encryption secret (--config FILE with authserver.key_encryption, or --secret-env NAME / --secret-file FILE) to seal it\n", path)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&alg, "alg", string(keys.Default), "algorithm: ES256, EdDSA, RS256 or PS256")
	cmd.Flags().DurationVar(&ahead, "publish-ahead", authserver.DefaultKeyPublishAhead, "how long the new key is published before it signs")
	sf.register(cmd)
	kf.register(cmd)
	return cmd
}
