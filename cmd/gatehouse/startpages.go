package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/gatehousehq/gatehouse/internal/exepages"
)

// releaseStartPages gives the kernel back the pages of the binary that
// only the start touched (internal/exepages), once every listener serves:
// the one binary links the auth server, both stores, CEL and gRPC, and
// their initialisation leaves most of it resident, though a gateway runs
// a fraction of it. The log line says how much resident memory it freed.
// serve runs it in a goroutine of its own: writing back a binary just
// copied onto a slow disk must not hold up a signal.
func releaseStartPages(log *slog.Logger) {
	before := residentBytes()
	r, err := exepages.Release()
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		return
	case errors.Is(err, exepages.ErrMemoryFileSystem):
		log.Info("the start-up pages of the binary stay resident: it runs from a memory file system (tmpfs), where they are the file")
		return
	case err != nil && r.Mappings > 0:
		log.Warn("the start-up pages of the binary are partly released", "err", err.Error(), "advised_mappings", r.Mappings)
		return
	case err != nil:
		log.Warn("the start-up pages of the binary stay resident", "err", err.Error())
		return
	}
	after := residentBytes()
	attrs := []any{"advised_bytes", r.Bytes, "advised_mappings", r.Mappings, "skipped_mappings", r.Skipped, "rss_before_bytes", before, "rss_after_bytes", after}
	if after >= before {
		log.Warn("releasing the start-up pages of the binary freed no resident memory", attrs...)
		return
	}
	log.Info("start-up pages of the binary released", attrs...)
}

// residentBytes is the process's resident set (VmRSS), 0 where it cannot
// be read.
func residentBytes() uint64 {
	n, _ := statusBytes("self", "VmRSS")
	return n
}

// statusBytes reads a field in kB (VmRSS, RssFile) of /proc/PID/status, in
// bytes.
func statusBytes(pid, field string) (uint64, error) {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s of process %s: %w", field, pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no %s in the status of process %s", field, pid)
}
