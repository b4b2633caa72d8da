package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/gatehousehq/gatehouse/workload"
)

func newCACmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Run the built-in CA that gives services SPIFFE certificates for mutual TLS",
		Long: `A small certificate authority for one SPIFFE trust domain. 'init' creates it
in a folder (ca.crt, and ca.key readable by its owner only); 'issue' signs a
short-lived X.509 SVID for a workload (svid.crt, svid.key, bundle.crt), which
package workload serves mutual TLS with and reloads when the files change.`,
		Example: `  gatehouse ca init --trust-domain shop.test --dir ./ca
  gatehouse ca issue --dir ./ca --id spiffe://shop.test/orders --ttl 24h --out ./orders-tls`,
		Args: noSubcommand,
		RunE: showHelp,
	}
	cmd.AddCommand(newCAInitCmd(e), newCAIssueCmd(e))
	return cmd
}

func newCAInitCmd(e *env) *cobra.Command {
	var (
		domain, dir string
		validity    time.Duration
		force       bool
	)
	cmd := &cobra.Command{
		Use:   "init --trust-domain DOMAIN --dir DIR [--validity 8760h] [--force]",
		Short: "Create a CA for a trust domain in a folder",
		Long: `Create a CA with a new ECDSA P-256 key for the SPIFFE trust domain DOMAIN and
write it to DIR: ca.crt (the trust bundle every workload gets) and ca.key
(mode 0600, never printed). An existing CA in DIR is kept unless --force.`,
		Example: `  gatehouse ca init --trust-domain shop.test --dir ./ca`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := cmd.CommandPath()
			td, err := spiffeid.TrustDomainFromString(domain)
			if err != nil || domain == "" {
				return usagef("%s: --trust-domain %q is not a trust domain name: use lowercase letters, digits, '.', '-' and '_', e.g. shop.test", path, domain)
			}
			if dir == "" {
				return usagef("%s: --dir is required: the folder for ca.crt and ca.key", path)
			}
			if _, err := os.Stat(filepath.Join(dir, workload.CAKeyFile)); err == nil && !force {
				return usagef("%s: %s already holds a CA: keep it, choose another --dir, or pass --force to replace it (every certificate it issued stops being trusted)", path, dir)
			}
			ca, err := workload.NewCA(td, workload.WithValidity(validity))
			if err != nil {
				return usagef("%s: %v", path, err)
			}
			if err := ca.Save(dir); err != nil {
				return usagef("%s: %v", path, err)
			}
			fmt.Fprintf(e.stdout, "CA for spiffe://%s written to %s (valid until %s)\n", td.Name(), dir,
				ca.Certificate().NotAfter.UTC().Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&domain, "trust-domain", "", "the SPIFFE trust domain, e.g. shop.test")
	cmd.Flags().StringVar(&dir, "dir", "", "the folder to write ca.crt and ca.key to")
	cmd.Flags().DurationVar(&validity, "validity", workload.DefaultCAValidity, "how long the CA is valid")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing CA")
	return cmd
}

func newCAIssueCmd(e *env) *cobra.Command {
	var (
		dir, id, out string
		ttl          time.Duration
	)
	cmd := &cobra.Command{
		Use:   "issue --dir DIR --id SPIFFE-ID --out DIR [--ttl 1h]",
		Short: "Issue a workload certificate (X.509 SVID) from the CA",
		Long: `Sign a new X.509 SVID for the workload SPIFFE-ID with the CA in --dir and write
it to the folder --out: svid.crt, svid.key (mode 0600, never printed) and
bundle.crt (the CA certificate). Run it again before the SVID expires: a
service reading the folder with workload.NewFileIdentity picks up the new
files without a restart.`,
		Example: `  gatehouse ca issue --dir ./ca --id spiffe://shop.test/orders --ttl 24h --out ./orders-tls`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := cmd.CommandPath()
			sid, err := spiffeid.FromString(id)
			if err != nil || id == "" {
				return usagef("%s: --id %q is not a SPIFFE ID: use spiffe://DOMAIN/PATH, e.g. spiffe://shop.test/orders", path, id)
			}
			if out == "" {
				return usagef("%s: --out is required: the folder for svid.crt, svid.key and bundle.crt", path)
			}
			ca, err := workload.LoadCA(dir)
			if err != nil {
				return usagef("%s: %v", path, err)
			}
			svid, err := ca.Issue(sid, ttl)
			if err != nil {
				return usagef("%s: %v", path, err)
			}
			if err := workload.SaveSVID(out, svid, ca.CertificatePEM()); err != nil {
				return usagef("%s: %v", path, err)
			}
			fmt.Fprintf(e.stdout, "SVID for %s written to %s (valid until %s)\n", sid, out,
				svid.Certificates[0].NotAfter.UTC().Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "./ca", "the CA folder (from 'gatehouse ca init')")
	cmd.Flags().StringVar(&id, "id", "", "the workload's SPIFFE ID, spiffe://DOMAIN/PATH")
	cmd.Flags().StringVar(&out, "out", "", "the folder to write svid.crt, svid.key and bundle.crt to")
	cmd.Flags().DurationVar(&ttl, "ttl", workload.DefaultSVIDTTL, "the SVID's lifetime (1m to 720h)")
	return cmd
}
