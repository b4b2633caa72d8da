//go:build linux

package exepages

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// mapping is one mapping of /proc/self/smaps: its header line and the
// fields Release decides by.
type mapping struct {
	start, end uintptr
	perms      string // "r-xp"
	dev        string // "fd:01", major:minor in hexadecimal
	inode      uint64
	anonKB     uint64 // Anonymous: pages the process holds a copy of
	swapKB     uint64 // Swap: such copies swapped out
	lockedKB   uint64 // Locked: pages mlock keeps resident
}

// readOnlyPrivate reports whether the mapping is private and not writable:
// its pages hold what the file holds, which the kernel can drop and read
// again (a writable mapping's pages hold the program's own data).
func (m mapping) readOnlyPrivate() bool {
	return len(m.perms) == 4 && m.perms[0] == 'r' && m.perms[1] == '-' && m.perms[3] == 'p'
}

// errNoExecutableMapping is the answer of releasable when no mapping holds
// the program's own code.
var errNoExecutableMapping = errors.New("no mapping of /proc/self/smaps holds the program's code")

// releasable picks the mappings Release advises: those of the file that
// the mapping holding pc (an address of the program's code) maps, read-only
// and private, with no page of their own. A page of its own is a copy the
// process made of the file's, as a position-independent binary's relocated
// read-only data, or a debugger's or uprobe's breakpoint in the code, in
// memory or swapped out: the kernel would drop it for the file's. A locked mapping is left too: mlock
// keeps it resident on purpose. skipped counts the mappings left for that.
func releasable(maps []mapping, pc uintptr) (out []mapping, skipped int, err error) {
	var code *mapping
	for i := range maps {
		if maps[i].start <= pc && pc < maps[i].end {
			code = &maps[i]
			break
		}
	}
	if code == nil || code.inode == 0 {
		return nil, 0, errNoExecutableMapping
	}
	for _, m := range maps {
		if m.inode != code.inode || m.dev != code.dev || !m.readOnlyPrivate() {
			continue
		}
		if m.anonKB > 0 || m.swapKB > 0 || m.lockedKB > 0 {
			skipped++
			continue
		}
		out = append(out, m)
	}
	return out, skipped, nil
}

// parseSmaps reads the mappings of a /proc/PID/smaps text: a header line
// "start-end perms offset dev inode [path]" (addresses in hexadecimal),
// then "Name: value kB" lines.
func parseSmaps(text string) ([]mapping, error) {
	var out []mapping
	for n, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasSuffix(f[0], ":") { // a field of the mapping above
			if len(out) == 0 {
				return nil, fmt.Errorf("smaps line %d: field %s before any mapping", n+1, f[0])
			}
			var dst *uint64
			switch f[0] {
			case "Anonymous:":
				dst = &out[len(out)-1].anonKB
			case "Swap:":
				dst = &out[len(out)-1].swapKB
			case "Locked:":
				dst = &out[len(out)-1].lockedKB
			default:
				continue
			}
			if len(f) < 2 {
				return nil, fmt.Errorf("smaps line %d: %s has no value", n+1, f[0])
			}
			v, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("smaps line %d: %s: %w", n+1, f[0], err)
			}
			*dst = v
			continue
		}
		m, err := parseHeader(f)
		if err != nil {
			return nil, fmt.Errorf("smaps line %d: %w", n+1, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// parseHeader reads the fields of a mapping's header line.
func parseHeader(f []string) (mapping, error) {
	if len(f) < 5 {
		return mapping{}, fmt.Errorf("%d fields, want at least 5", len(f))
	}
	lo, hi, ok := strings.Cut(f[0], "-")
	if !ok {
		return mapping{}, fmt.Errorf("address range %q has no '-'", f[0])
	}
	start, err := strconv.ParseUint(lo, 16, 64)
	if err != nil {
		return mapping{}, fmt.Errorf("start address: %w", err)
	}
	end, err := strconv.ParseUint(hi, 16, 64)
	if err != nil {
		return mapping{}, fmt.Errorf("end address: %w", err)
	}
	if end < start {
		return mapping{}, errors.New("range ends before it starts")
	}
	inode, err := strconv.ParseUint(f[4], 10, 64)
	if err != nil {
		return mapping{}, fmt.Errorf("inode: %w", err)
	}
	return mapping{start: uintptr(start), end: uintptr(end), perms: f[1], dev: f[3], inode: inode}, nil
}

// mountTypeOf finds, in a /proc/PID/mountinfo text, the type of the file
// system whose device is dev, as smaps writes it ("00:2a", hexadecimal;
// mountinfo writes "0:42"). It reports false when no mount has it, as
// for the layers of an overlay that the mount namespace does not show.
func mountTypeOf(mountinfo, dev string) (string, bool) {
	hexMajor, hexMinor, ok := strings.Cut(dev, ":")
	if !ok {
		return "", false
	}
	major, err1 := strconv.ParseUint(hexMajor, 16, 32)
	minor, err2 := strconv.ParseUint(hexMinor, 16, 32)
	if err1 != nil || err2 != nil {
		return "", false
	}
	want := fmt.Sprintf("%d:%d", major, minor)
	for line := range strings.Lines(mountinfo) {
		// ID parent major:minor root mountpoint options [optional...] - type source super
		f := strings.Fields(line)
		if len(f) < 3 || f[2] != want {
			continue
		}
		for i, field := range f {
			if field == "-" && i+1 < len(f) {
				return f[i+1], true
			}
		}
	}
	return "", false
}
