package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/postgres"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
	"github.com/gatehousehq/gatehouse/internal/config"
	"github.com/gatehousehq/gatehouse/keys/keyseal"
)

const (
	// defaultData is the folder of the embedded store when nothing says
	// otherwise.
	defaultData = "./gatehouse-data"
	// dbFile is the SQLite file inside the data folder.
	dbFile = "gatehouse.db"
	// openTimeout bounds opening a store (a PostgreSQL server that does
	// not answer).
	openTimeout = 15 * time.Second
)

// storeLocation is where the identity store lives: a SQLite folder or a
// PostgreSQL URL.
type storeLocation struct {
	dir string // folder holding gatehouse.db, when url is ""
	url string // postgres:// URL
}

// String names the store for messages, without the URL's password.
func (l storeLocation) String() string {
	if l.url == "" {
		return filepath.Join(l.dir, dbFile)
	}
	return redactURL(l.url)
}

// locationOf returns the store an authserver section configures: data (a
// SQLite folder, default gatehouse-data) or store (a postgres:// URL).
// internal/config has already joined a relative data folder, like
// secret_file and password_file, to the folder of the file, so that serve
// and the user and client commands given the same --config open the same
// store from any working folder.
func locationOf(a *config.AuthServer) storeLocation {
	if a.Store != "" {
		return storeLocation{url: a.Store}
	}
	if a.Data != "" {
		return storeLocation{dir: a.Data}
	}
	return storeLocation{dir: defaultData}
}

// openStore opens the store at loc. With create false, a missing SQLite
// file is an error instead of a new empty store: a command that only
// reads or changes existing entries was most likely pointed at the wrong
// folder.
func openStore(ctx context.Context, loc storeLocation, create bool) (identity.Store, error) {
	return openSealedStore(ctx, loc, create, nil)
}

// openSealedStore is openStore with the signing keys sealed at rest by
// sealer (nil: stored in clear; keys_seal.go).
func openSealedStore(ctx context.Context, loc storeLocation, create bool, sealer *keyseal.Sealer) (identity.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	if loc.url != "" {
		s, err := postgres.Open(ctx, loc.url, postgres.WithKeySealer(sealer))
		if err != nil {
			return nil, fmt.Errorf("cannot open the store at %s: %s", loc, scrubPassword(err.Error(), loc.url))
		}
		return s, nil
	}
	file := filepath.Join(loc.dir, dbFile)
	if !create {
		if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no gatehouse store in %s (%s not found): pass --data DIR, --store URL or --config FILE", loc.dir, dbFile)
		}
	}
	if err := os.MkdirAll(loc.dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the data folder: %w", err)
	}
	s, err := sqlite.Open(ctx, file, sqlite.WithKeySealer(sealer))
	if err != nil {
		return nil, fmt.Errorf("cannot open the store at %s: %w", file, err)
	}
	return s, nil
}

// redactURL hides the passwords of a URL: the user's, and those of query
// parameters such as Redis Sentinel's ?password= and ?sentinel_password=
// or pgx's ?password= and ?sslpassword=. A string that does not parse as a
// URL with a scheme (it may hold a password in a form we cannot find, such
// as a "host=... password=..." DSN) is hidden whole.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "(unparsable URL)"
	}
	q := u.Query()
	masked := false
	for k, vs := range q {
		if secretParam(k) {
			for i := range vs {
				vs[i] = "xxxxx"
			}
			masked = true
		}
	}
	if masked {
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// dsnPassword finds the password of a keyword/value connection string.
var dsnPassword = regexp.MustCompile(`(?i)password\s*=\s*('[^']*'|\S+)`)

// secretParam reports whether a URL query parameter holds a secret.
func secretParam(k string) bool {
	k = strings.ToLower(k)
	return strings.Contains(k, "password") || strings.Contains(k, "passwd") ||
		strings.Contains(k, "secret") || strings.Contains(k, "token")
}

// scrubPassword removes the URL's passwords from a driver's message, in
// case one repeats them.
func scrubPassword(msg, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the store URL does not parse"
	}
	var secrets []string
	if p, ok := u.User.Password(); ok {
		secrets = append(secrets, p)
	}
	for k, vs := range u.Query() {
		if secretParam(k) {
			secrets = append(secrets, vs...)
		}
	}
	// A "host=... password=..." DSN parses as a relative URL.
	for _, m := range dsnPassword.FindAllStringSubmatch(raw, -1) {
		secrets = append(secrets, strings.Trim(m[1], "'"))
	}
	for _, p := range secrets {
		if p == "" {
			continue
		}
		msg = strings.ReplaceAll(msg, p, "xxxxx")
		msg = strings.ReplaceAll(msg, url.QueryEscape(p), "xxxxx")
		msg = strings.ReplaceAll(msg, url.PathEscape(p), "xxxxx")
	}
	return msg
}

// storeFlags are the flags that choose the store of an admin command.
type storeFlags struct {
	data, url, config string
}

func (s *storeFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.data, "data", defaultData, "folder of the embedded SQLite store (holds "+dbFile+")")
	f.StringVar(&s.url, "store", "", "postgres:// URL of a shared store, instead of --data")
	f.StringVar(&s.config, "config", "", "use the store of this gatehouse.yaml (authserver.data or authserver.store)")
}

// location resolves the flags to a store location.
func (s *storeFlags) location(cmd *cobra.Command) (storeLocation, error) {
	path := cmd.CommandPath()
	n := 0
	for _, name := range []string{"data", "store", "config"} {
		if cmd.Flags().Changed(name) {
			n++
		}
	}
	if n > 1 {
		return storeLocation{}, usagef("%s: give one of --data, --store or --config, not several", path)
	}
	switch {
	case cmd.Flags().Changed("store"):
		if !strings.HasPrefix(s.url, "postgres://") && !strings.HasPrefix(s.url, "postgresql://") {
			return storeLocation{}, usagef("%s: --store must be a postgres:// URL; for the embedded store use --data DIR", path)
		}
		return storeLocation{url: s.url}, nil
	case s.config != "":
		f, err := loadConfig(cmd, s.config)
		if err != nil {
			return storeLocation{}, err
		}
		if f.AuthServer == nil {
			return storeLocation{}, usagef("%s: %s has no authserver section, which is where the store is configured (data: DIR or store: postgres://...)", path, s.config)
		}
		return locationOf(f.AuthServer), nil
	case s.data == "":
		return storeLocation{}, usagef("%s: --data needs a folder", path)
	}
	return storeLocation{dir: s.data}, nil
}

// open opens the store the flags choose; see openStore for create.
func (s *storeFlags) open(cmd *cobra.Command, create bool) (identity.Store, error) {
	loc, err := s.location(cmd)
	if err != nil {
		return nil, err
	}
	st, err := openStore(cmd.Context(), loc, create)
	if err != nil {
		return nil, usagef("%s: %v", cmd.CommandPath(), err)
	}
	noteDemoStore(cmd.Context(), cmd.ErrOrStderr(), cmd.CommandPath(), loc) // demostore.go
	return st, nil
}

// loadConfig reads and checks a gatehouse.yaml. Its errors are one line,
// "path:line: reason", so that editors can jump to the line.
func loadConfig(cmd *cobra.Command, path string) (*config.File, error) {
	f, err := config.Load(path)
	var ce *config.Error
	switch {
	case errors.As(err, &ce):
		return nil, usagef("%s", ce.Error())
	case err != nil:
		return nil, usagef("%s: cannot read the configuration: %s", cmd.CommandPath(), strings.TrimPrefix(err.Error(), "config: "))
	}
	return f, nil
}
