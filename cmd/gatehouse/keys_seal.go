package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/internal/config"
	"github.com/gatehousehq/gatehouse/internal/demo"
	"github.com/gatehousehq/gatehouse/keys/keyseal"
)

// The signing keys of a store are sealed at rest (package keys/keyseal)
// under the key-encryption secrets of authserver.key_encryption: the
// current one seals, previous ones only open. Without a secret they are
// stored in clear, and 'gatehouse serve' warns at every start (this
// release; a later one refuses to start): an existing deployment upgrades
// first and sets the secret next, without an outage. A store whose keys
// are sealed is refused without the secret. See docs/deployment.md,
// "Signing keys at rest".

// keySealerOf returns the sealer of the key_encryption section of a, from
// the file file (nil without the section). Errors name the file, the line
// and the key, never a secret.
func keySealerOf(file string, a *config.AuthServer) (*keyseal.Sealer, error) {
	k := a.KeyEncryption
	if k == nil {
		return nil, nil
	}
	at := func(line int, key, format string, args ...any) error {
		return usagef("%s", (&config.Error{Path: file, Line: line, Key: key, Reason: fmt.Sprintf(format, args...)}).Error())
	}
	current, err := k.Current().Resolve()
	if err == nil {
		err = keyseal.CheckSecret(current)
	}
	if err != nil {
		return nil, at(k.Line, "authserver.key_encryption", "the current key-encryption secret: %s", strings.TrimPrefix(err.Error(), "keyseal: "))
	}
	seen := map[string]string{keyseal.Fingerprint(current): "authserver.key_encryption"}
	var previous [][]byte
	for i, p := range k.Previous {
		key := fmt.Sprintf("authserver.key_encryption.previous[%d]", i)
		v, err := p.Resolve()
		if err == nil {
			err = keyseal.CheckSecret(v)
		}
		if err != nil {
			return nil, at(p.Line, key, "a previous key-encryption secret: %s", strings.TrimPrefix(err.Error(), "keyseal: "))
		}
		if other, dup := seen[keyseal.Fingerprint(v)]; dup {
			return nil, at(p.Line, key, "is the same secret as %s (fingerprint %s): list each secret once", other, keyseal.Fingerprint(v))
		}
		seen[keyseal.Fingerprint(v)] = key
		previous = append(previous, v)
	}
	s, err := keyseal.New(current, previous...)
	if err != nil { // checked above
		return nil, at(k.Line, "authserver.key_encryption", "%v", err)
	}
	return s, nil
}

// logKeySealing says at start how the store keeps its signing keys: sealed
// under which secret (its fingerprint), which keys it sealed now, or, loud,
// in clear.
func logKeySealing(ctx context.Context, log *slog.Logger, st identity.Store, s *keyseal.Sealer, loc storeLocation) {
	if s == nil {
		log.WarnContext(ctx, "no key-encryption secret is configured: signing keys are stored in clear: whoever reads the store, a backup, a replica or a dump of it can sign tokens for every service; "+
			"set authserver.key_encryption.secret_env or secret_file (docs/deployment.md, Signing keys at rest); a later release will refuse to start without it",
			"component", "authserver", "store", loc.String())
		return
	}
	log.InfoContext(ctx, "signing keys sealed at rest", "component", "authserver", "secret_fingerprint", s.Fingerprint())
	if o, ok := st.(interface{ SealedAtOpen() []string }); ok && len(o.SealedAtOpen()) > 0 {
		log.WarnContext(ctx, "signing keys stored in clear were sealed under the current key-encryption secret; backups made before hold them in clear",
			"component", "authserver", "kids", o.SealedAtOpen(), "secret_fingerprint", s.Fingerprint())
	}
}

// keySealFailure turns an error of a store's signing keys that do not open
// into a start failure of 'gatehouse serve' at the key that can fix it: it
// names the key, the fingerprints involved and what to do, never a
// secret. Other errors give nil.
func keySealFailure(file string, a *config.AuthServer, s *keyseal.Sealer, err error) error {
	var se *keyseal.Error
	if !errors.As(err, &se) {
		return nil
	}
	reason := strings.TrimPrefix(se.Error(), "keyseal: ")
	line, key := a.Line, "authserver"
	if k := a.KeyEncryption; k != nil {
		line, key = k.Line, "authserver.key_encryption"
	}
	switch {
	case errors.Is(err, keyseal.ErrNoSecret):
		reason += ": set authserver.key_encryption.secret_env or secret_file to it (docs/configuration.md)"
	case errors.Is(err, keyseal.ErrUnknownSecret):
		fps := s.Fingerprints()
		reason += "; configured here: " + fps[0] + " (current)"
		if len(fps) > 1 {
			reason += ", " + strings.Join(fps[1:], ", ") + " (previous)"
		}
	}
	return usagef("%s", (&config.Error{Path: file, Line: line, Key: key, Reason: reason}).Error())
}

// secretFlags are the flags that give an admin command the key-encryption
// secrets when --config does not.
type secretFlags struct {
	env, file                 string
	previousEnv, previousFile []string
}

func (f *secretFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.env, "secret-env", "", "environment variable that holds the current key-encryption secret (instead of --config's authserver.key_encryption)")
	fl.StringVar(&f.file, "secret-file", "", "file that holds the current key-encryption secret")
	fl.StringArrayVar(&f.previousEnv, "previous-secret-env", nil, "environment variable that holds a previous key-encryption secret (repeatable)")
	fl.StringArrayVar(&f.previousFile, "previous-secret-file", nil, "file that holds a previous key-encryption secret (repeatable)")
}

func (f *secretFlags) given() bool {
	return f.env != "" || f.file != "" || len(f.previousEnv) > 0 || len(f.previousFile) > 0
}

// sealer returns the key sealer of the flags: nil when none is given.
func (f *secretFlags) sealer(cmd *cobra.Command) (*keyseal.Sealer, error) {
	path := cmd.CommandPath()
	if !f.given() {
		return nil, nil
	}
	if (f.env == "") == (f.file == "") {
		return nil, usagef("%s: give the current key-encryption secret with one of --secret-env NAME or --secret-file FILE", path)
	}
	resolve := func(flag string, s config.KeySecret) ([]byte, error) {
		v, err := s.Resolve()
		if err == nil {
			err = keyseal.CheckSecret(v)
		}
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "keyseal: ")
			msg = strings.TrimPrefix(strings.TrimPrefix(msg, "secret_env: "), "secret_file: ")
			return nil, usagef("%s: %s: %s", path, flag, msg)
		}
		return v, nil
	}
	flag, current := "--secret-env", config.KeySecret{Env: f.env}
	if f.file != "" {
		flag, current = "--secret-file", config.KeySecret{File: f.file}
	}
	cur, err := resolve(flag, current)
	if err != nil {
		return nil, err
	}
	var previous [][]byte
	for _, name := range f.previousEnv {
		v, err := resolve("--previous-secret-env "+name, config.KeySecret{Env: name})
		if err != nil {
			return nil, err
		}
		previous = append(previous, v)
	}
	for _, file := range f.previousFile {
		v, err := resolve("--previous-secret-file "+file, config.KeySecret{File: file})
		if err != nil {
			return nil, err
		}
		previous = append(previous, v)
	}
	s, err := keyseal.New(cur, previous...)
	if err != nil {
		return nil, usagef("%s: %s", path, strings.TrimPrefix(err.Error(), "keyseal: "))
	}
	return s, nil
}

// openKeyStore opens the store of sf for a command on its signing keys,
// with the key-encryption secrets of --config's authserver.key_encryption
// or of the secret flags, or, for a store the demo made, the demo's own
// secret. The sealer is nil when none of them gives a secret.
func openKeyStore(cmd *cobra.Command, sf *storeFlags, kf *secretFlags) (identity.Store, *keyseal.Sealer, error) {
	path := cmd.CommandPath()
	loc, err := sf.location(cmd)
	if err != nil {
		return nil, nil, err
	}
	var s *keyseal.Sealer
	switch {
	case sf.config != "" && kf.given():
		return nil, nil, usagef("%s: the key-encryption secrets come from --config's authserver.key_encryption or from --secret-env/--secret-file, not both", path)
	case sf.config != "":
		f, err := loadConfig(cmd, sf.config)
		if err != nil {
			return nil, nil, err
		}
		if s, err = keySealerOf(sf.config, f.AuthServer); err != nil {
			return nil, nil, err
		}
	default:
		if s, err = kf.sealer(cmd); err != nil {
			return nil, nil, err
		}
	}
	if s == nil && loc.url == "" {
		if marked, _ := demo.IsDemoFolder(loc.dir); marked {
			if b, err := os.ReadFile(demo.KeySecretFile(loc.dir)); err == nil {
				s, _ = keyseal.New([]byte(strings.TrimSpace(string(b))))
			}
		}
	}
	st, err := openSealedStore(cmd.Context(), loc, false, s)
	if err != nil {
		return nil, nil, usagef("%s: %v", path, err)
	}
	noteDemoStore(cmd.Context(), cmd.ErrOrStderr(), path, loc) // demostore.go
	return st, s, nil
}

// keyStoreError reports a failure of a command on the signing keys: a key
// that does not open, or a store that refuses a key in clear, with what to
// pass; else as storeError.
func keyStoreError(cmd *cobra.Command, err error) error {
	var se *keyseal.Error
	if !errors.As(err, &se) {
		return storeError(cmd, err)
	}
	hint := "pass the secret it was sealed with: --config FILE (authserver.key_encryption), or --secret-env NAME / --secret-file FILE, with --previous-secret-env or --previous-secret-file for older secrets"
	return usagef("%s: %s; %s", cmd.CommandPath(), strings.TrimPrefix(err.Error(), "keyseal: "), hint)
}
