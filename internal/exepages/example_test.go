package exepages_test

import (
	"errors"
	"log/slog"
	"os"

	"github.com/gatehousehq/gatehouse/internal/exepages"
)

// A server releases the pages of its binary once its listeners serve: what
// package initialisation alone touched leaves memory, and what requests
// run comes back page by page.
func ExampleRelease() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	// ... bind the listeners, start serving ...
	r, err := exepages.Release()
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		// not Linux: nothing to do
	case err != nil:
		log.Warn("the start-up pages of the binary stay resident", "err", err)
	default:
		log.Info("start-up pages released", "mapped_bytes", r.Bytes)
	}
}
