package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse/keys/keyseal"
)

func newKeysSecretCmd(e *env) *cobra.Command {
	var (
		out   string
		force bool
	)
	cmd := &cobra.Command{
		Use:   "secret --out FILE [--force]",
		Short: "Generate a key-encryption secret into a file (mode 0600)",
		Long: `Generate a key-encryption secret, 32 random bytes as base64url text, and
write it to the file given by --out, readable by its owner only (mode 0600).
The secret is never printed; its fingerprint is, which names it in logs and
messages. Give the file to authserver.key_encryption.secret_file (or put its
content in the variable of secret_env, e.g. a Kubernetes Secret): the auth
server seals its signing keys under it. The file is refused if it exists,
unless --force is given.`,
		Example: `  gatehouse keys secret --out key-secret
  gatehouse keys secret --out key-secret --force   # a new one: keys sealed under the old one need it as a previous secret`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := cmd.CommandPath()
			if out == "" || out == "-" {
				return usagef("%s: --out needs a file path: secrets are never printed", path)
			}
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			secret := keyseal.GenerateSecret()
			f, err := os.OpenFile(out, flags, 0o600)
			if os.IsExist(err) {
				return usagef("%s: %s already exists: choose another --out, or pass --force to replace it (keys sealed under the old secret then need it as a previous secret)", path, out)
			}
			if err != nil {
				return usagef("%s: cannot write %s: %v", path, out, err)
			}
			_, err = fmt.Fprintln(f, secret)
			if err == nil {
				err = f.Chmod(0o600) // an existing file replaced with --force
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return usagef("%s: cannot write %s: %v", path, out, err)
			}
			printf(e, "wrote a key-encryption secret, fingerprint %s, to %s (mode 0600)\n", keyseal.Fingerprint([]byte(secret)), out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write the secret to (required; never printed)")
	cmd.Flags().BoolVar(&force, "force", false, "replace --out if it exists")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
