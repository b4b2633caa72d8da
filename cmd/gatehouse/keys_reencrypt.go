package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"
)

// keyResealer is the ability of both engines to seal every signing key
// under the current secret, in one transaction.
type keyResealer interface {
	ResealSigningKeys(ctx context.Context) (resealed []string, total int, err error)
}

func newKeysReencryptCmd(e *env) *cobra.Command {
	var (
		sf storeFlags
		kf secretFlags
	)
	cmd := &cobra.Command{
		Use:   "reencrypt [--config FILE | --data DIR | --store URL] [--secret-env NAME | --secret-file FILE] [--previous-secret-env NAME]... [--previous-secret-file FILE]...",
		Short: "Seal every signing key of the store under the current key-encryption secret",
		Long: `Seal every signing key of the auth server's store under the current
key-encryption secret, in one transaction: keys stored in clear and keys
sealed under a previous secret are rewritten, keys sealed under the current
secret already are checked and kept. A key that no given secret opens fails
the whole command, naming the key, and changes nothing.

The secrets come from --config's authserver.key_encryption (secret_env or
secret_file, and previous), or from --secret-env / --secret-file (the
current secret) with --previous-secret-env / --previous-secret-file (older
secrets, repeatable); never from the command line itself.

To rotate the secret: make a new one (gatehouse keys secret --out FILE),
configure it as the current secret and the old one under previous, restart
the auth servers, run this command, then remove the old secret. Running auth
servers keep working throughout: they open keys under either secret.`,
		Example: `  gatehouse keys secret --out key-secret.1
  gatehouse keys reencrypt --secret-file key-secret.1        # seals the keys stored in clear
  gatehouse keys secret --out key-secret.2
  gatehouse keys reencrypt --secret-file key-secret.2 --previous-secret-file key-secret.1`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := cmd.CommandPath()
			st, sealer, err := openKeyStore(cmd, &sf, &kf) // keys_seal.go
			if err != nil {
				return err
			}
			defer st.Close()
			if sealer == nil {
				return usagef("%s: no key-encryption secret given: pass --config FILE (with authserver.key_encryption), or --secret-env NAME / --secret-file FILE", path)
			}
			r, ok := st.(keyResealer)
			if !ok {
				return usagef("%s: this store cannot re-seal its signing keys", path)
			}
			atOpen := st.(interface{ SealedAtOpen() []string }).SealedAtOpen()
			resealed, total, err := r.ResealSigningKeys(cmd.Context())
			if err != nil {
				return keyStoreError(cmd, err)
			}
			if len(atOpen) > 0 {
				printf(e, "sealed %d signing key(s) stored in clear: %s\n", len(atOpen), strings.Join(atOpen, ", "))
			}
			if len(resealed) > 0 {
				printf(e, "re-encrypted %d signing key(s) sealed under a previous secret: %s\n", len(resealed), strings.Join(resealed, ", "))
			}
			printf(e, "all %d signing key(s) of the store are sealed under the current secret (fingerprint %s): previous secrets may now be removed\n", total, sealer.Fingerprint())
			return nil
		},
	}
	sf.register(cmd)
	kf.register(cmd)
	return cmd
}
