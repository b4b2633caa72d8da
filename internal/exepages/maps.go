//go:build linux

package exepages

import (
	"fmt"
	"strconv"
	"strings"
)

// mapping is one line of /proc/self/maps.
type mapping struct {
	start, end uintptr
	perms      string // "r-xp"
	dev        string // "fd:01", major:minor in hexadecimal
	inode      uint64
}

// readOnlyPrivate reports whether the mapping is private and not writable:
// its pages hold what the file holds, which the kernel can drop and read
// again (a writable mapping's pages hold the program's own data).
func (m mapping) readOnlyPrivate() bool {
	return len(m.perms) == 4 && m.perms[0] == 'r' && m.perms[1] == '-' && m.perms[3] == 'p'
}

// parseMaps reads the mappings of a /proc/PID/maps text: "start-end perms
// offset dev inode [path]", addresses in hexadecimal.
func parseMaps(text string) ([]mapping, error) {
	var out []mapping
	for n, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 5 {
			return nil, fmt.Errorf("maps line %d: %d fields, want at least 5", n+1, len(f))
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			return nil, fmt.Errorf("maps line %d: address range %q has no '-'", n+1, f[0])
		}
		start, err := strconv.ParseUint(lo, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("maps line %d: start address: %w", n+1, err)
		}
		end, err := strconv.ParseUint(hi, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("maps line %d: end address: %w", n+1, err)
		}
		if end < start {
			return nil, fmt.Errorf("maps line %d: range ends before it starts", n+1)
		}
		inode, err := strconv.ParseUint(f[4], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("maps line %d: inode: %w", n+1, err)
		}
		out = append(out, mapping{start: uintptr(start), end: uintptr(end), perms: f[1], dev: f[3], inode: inode})
	}
	return out, nil
}

// devName is a device number as /proc/PID/maps writes it: major:minor in
// hexadecimal, at least two digits each.
func devName(major, minor uint32) string {
	return fmt.Sprintf("%02x:%02x", major, minor)
}
