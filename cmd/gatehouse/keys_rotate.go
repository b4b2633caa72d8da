package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/keys"
)

func newKeysRotateCmd(e *env) *cobra.Command {
	var (
		sf  storeFlags
		alg string
	)
	cmd := &cobra.Command{
		Use:   "rotate [--alg ES256|EdDSA|RS256|PS256]",
		Short: "Make a new signing key active in the auth server's store",
		Long: `Generate a signing key and make it the active key of the auth server's store
(--data DIR, default ./gatehouse-data; --store postgres://...; or --config
FILE). Running auth servers sign with it from their next reload, within 30s,
and publish it in their JWKS; the previous key stays in the JWKS and tokens
signed with it keep verifying until they expire. The private key never
leaves the store and is never printed.`,
		Example: `  gatehouse keys rotate
  gatehouse keys rotate --alg EdDSA --config gatehouse.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := cmd.CommandPath()
			a, err := keys.ParseAlgorithm(alg)
			if err != nil || a.Symmetric() {
				return usagef("%s: --alg %s is not supported: use ES256 (default), EdDSA, RS256 or PS256", path, quoteShort(alg))
			}
			return withStore(cmd, &sf, false, func(st identity.Store) error {
				kid, err := authserver.RotateKey(cmd.Context(), st, a, time.Now())
				if err != nil {
					return storeError(cmd, err)
				}
				printf(e, "new %s signing key %s is active\n", a, kid)
				printf(e, "Running auth servers pick it up within 30s; tokens signed with the previous key keep verifying until they expire.\n")
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&alg, "alg", string(keys.Default), "algorithm: ES256, EdDSA, RS256 or PS256")
	sf.register(cmd)
	return cmd
}
