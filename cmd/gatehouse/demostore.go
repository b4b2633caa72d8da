package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/gatehousehq/gatehouse/internal/demo"
)

// A store that 'gatehouse demo' made (its folder holds demo.MarkerFile, its
// PostgreSQL schema the demo.MarkerTable) has the demo's users, whose
// passwords the demo printed and keeps in plain files, and the demo
// reseeds it at every start. 'gatehouse serve' refuses it; the admin
// commands work on it (adding a user to the demo is fine) and say so.

// refuseDemoStore refuses the store at loc when the demo made it; path is
// the command ("gatehouse serve").
func refuseDemoStore(ctx context.Context, path string, loc storeLocation) error {
	marked, err := isDemoStore(ctx, loc)
	if err != nil {
		return usagef("%s: cannot open the store at %s: %s", path, loc, scrubbed(err, loc))
	}
	if !marked && loc.url == "" && demo.SeededByOlderDemo(loc.dir) {
		return usagef("%s: %s was seeded by a 'gatehouse demo' from before demo folders were marked (it holds demo/seeded): its users alice, bob and carol and the clients cli, spa and those of the demo services may be the demo's, with passwords and secrets in %s; "+
			"if this is a real store, check those users and clients (gatehouse user list, gatehouse client list), then delete the folder %s to serve it; else point authserver.data at another folder",
			path, loc.dir, filepath.Join(loc.dir, "demo"), filepath.Join(loc.dir, "demo"))
	}
	if !marked {
		return nil
	}
	if loc.url != "" {
		return usagef("%s: the database of authserver.store (%s) is a demo store made by 'gatehouse demo' (its schema holds the %s table), whose users and passwords are the demo's: point authserver.store at another database or schema",
			path, loc, demo.MarkerTable)
	}
	return usagef("%s: %s is a demo store made by 'gatehouse demo' (it holds the %s file), whose users and passwords are the demo's: point authserver.data at another folder (the default is %s)",
		path, loc.dir, demo.MarkerFile, defaultData)
}

// noteDemoStore prints a one-line note to w when the store at loc, just
// opened, is a demo store, so that an admin command does not change one
// unnoticed. A failed check prints nothing.
func noteDemoStore(ctx context.Context, w io.Writer, path string, loc storeLocation) {
	if marked, err := isDemoStore(ctx, loc); err == nil && marked {
		fmt.Fprintf(w, "%s: note: %s is a demo store made by 'gatehouse demo', which reseeds its users and clients at every start\n", path, loc)
	} else if err == nil && loc.url == "" && demo.SeededByOlderDemo(loc.dir) {
		fmt.Fprintf(w, "%s: note: %s was seeded by an older 'gatehouse demo' (it holds demo/seeded); 'gatehouse serve' refuses it until that folder is deleted\n", path, loc)
	}
}

// isDemoStore reports whether the demo made the store at loc.
func isDemoStore(ctx context.Context, loc storeLocation) (bool, error) {
	if loc.url != "" {
		return demo.IsDemoDatabase(ctx, loc.url)
	}
	return demo.IsDemoFolder(loc.dir)
}

// scrubbed is err's text without its package prefix and without the
// passwords of loc's URL.
func scrubbed(err error, loc storeLocation) string {
	msg := strings.TrimPrefix(err.Error(), "demo: ")
	if loc.url != "" {
		msg = scrubPassword(msg, loc.url)
	}
	return msg
}
