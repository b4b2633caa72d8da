//go:build linux

package exepages

import (
	"errors"
	"strings"
	"testing"
)

// smapsOf writes a /proc/PID/smaps text: each mapping's header line with
// its Anonymous, Swap and Locked fields (and a few others Release
// ignores), given as "header | anon[/swap] locked" in kB.
func smapsOf(headers ...string) string {
	var b strings.Builder
	for _, h := range headers {
		line, fields, _ := strings.Cut(h, " | ")
		anon, locked := "0", "0"
		if fields != "" {
			anon, locked, _ = strings.Cut(fields, " ")
		}
		swap := "0"
		anon, swap, _ = strings.Cut(anon, "/") // "anon/swap"
		if swap == "" {
			swap = "0"
		}
		b.WriteString(line + "\nSize:                 64 kB\nRss:                  12 kB\nAnonymous:            " + anon + " kB\nSwap:                 " + swap + " kB\nLocked:               " + locked + " kB\nVmFlags: rd ex mr mw me\n")
	}
	return b.String()
}

func TestParseSmaps(t *testing.T) {
	text := smapsOf(
		"00400000-00a6b000 r-xp 00000000 fd:01 1234                               /usr/local/bin/gatehouse",
		"00a6b000-011f2000 r--p 0066b000 fd:01 1234                               /usr/local/bin/gatehouse | 8/2 0",
		"011f2000-01232000 rw-p 00df2000 fd:01 1234                               /usr/local/bin/gatehouse | 128 0",
		"c000000000-c000400000 rw-p 00000000 00:00 0",
		"7ffd1e5f2000-7ffd1e5f4000 r-xp 00000000 00:00 0                          [vdso] | 0 8",
	)
	maps, err := parseSmaps(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 5 {
		t.Fatalf("%d mappings, want 5", len(maps))
	}
	want := mapping{start: 0xa6b000, end: 0x11f2000, perms: "r--p", dev: "fd:01", inode: 1234, anonKB: 8, swapKB: 2}
	if maps[1] != want {
		t.Errorf("second mapping %+v, want %+v", maps[1], want)
	}
	if maps[4].lockedKB != 8 {
		t.Errorf("vdso Locked %d kB, want 8", maps[4].lockedKB)
	}

	for _, tt := range []struct{ name, text, want string }{
		{"few fields", "00400000-00a6b000 r-xp 00000000 fd:01\n", "line 1: 4 fields"},
		{"no dash", "00400000 r-xp 00000000 fd:01 1234\n", `line 1: address range "00400000" has no '-'`},
		{"bad start", "0040zz00-00a6b000 r-xp 00000000 fd:01 1234\n", "line 1: start address"},
		{"bad end", "00400000-xyz r-xp 00000000 fd:01 1234\n", "line 1: end address"},
		{"backwards", "00a6b000-00400000 r-xp 00000000 fd:01 1234\n", "line 1: range ends before it starts"},
		{"bad inode", "00400000-00a6b000 r-xp 00000000 fd:01 -1\n", "line 1: inode"},
		{"field first", "Anonymous: 0 kB\n", "line 1: field Anonymous: before any mapping"},
		{"bad anonymous", "00400000-00a6b000 r-xp 00000000 fd:01 1234\nAnonymous: many kB\n", "line 2: Anonymous:"},
		{"empty locked", "00400000-00a6b000 r-xp 00000000 fd:01 1234\nLocked:\n", "line 2: Locked: has no value"},
		{"third line", "00400000-00a6b000 r-xp 00000000 fd:01 1234\nRss: 4 kB\nnonsense\n", "line 3: 1 fields"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseSmaps(tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestReleasable is the rule of what Release advises: the read-only private
// mappings of the file whose mapping holds the code, without copies of
// their own and not locked.
func TestReleasable(t *testing.T) {
	maps, err := parseSmaps(smapsOf(
		"00400000-00a6b000 r-xp 00000000 00:2a 1234 /usr/local/bin/gatehouse", // the code; overlayfs: maps' device, not stat's
		"00a6b000-011f2000 r--p 0066b000 00:2a 1234 /usr/local/bin/gatehouse",
		"011f2000-01232000 r--p 00df2000 00:2a 1234 /usr/local/bin/gatehouse | 4600 0",   // relocated (PIE)
		"01232000-01300000 rw-p 00e32000 00:2a 1234 /usr/local/bin/gatehouse",            // the program's data
		"01300000-01400000 r--s 00f00000 00:2a 1234 /usr/local/bin/gatehouse",            // shared
		"70000000-70100000 r--p 00000000 00:2a 5678 /usr/lib/other.so",                   // another file
		"70100000-70200000 r--p 00000000 00:2b 1234 /mnt/other",                          // same inode, another device
		"70200000-70300000 r-xp 00000000 00:2a 1234 /usr/local/bin/gatehouse | 0 1024",   // locked
		"70300000-70400000 r--p 00000000 00:2a 1234 /usr/local/bin/gatehouse | 0/4600 0", // relocated, swapped out
		"bffd1000-bffd3000 r-xp 00000000 00:00 0 [vdso]",
	))
	if err != nil {
		t.Fatal(err)
	}
	got, skipped, err := releasable(maps, 0x400100)
	if err != nil {
		t.Fatal(err)
	}
	var starts []uintptr
	for _, m := range got {
		starts = append(starts, m.start)
	}
	if len(starts) != 2 || starts[0] != 0x400000 || starts[1] != 0xa6b000 {
		t.Errorf("releasable mappings start at %#x, want the code (0x400000) and the read-only data (0xa6b000)", starts)
	}
	if skipped != 3 {
		t.Errorf("skipped %d, want 3 (the relocated, the locked and the swapped-out mapping)", skipped)
	}

	for name, pc := range map[string]uintptr{"outside every mapping": 0x10, "in the vdso": 0xbffd1100} {
		if _, _, err := releasable(maps, pc); !errors.Is(err, errNoExecutableMapping) {
			t.Errorf("pc %s: %v, want errNoExecutableMapping", name, err)
		}
	}
}

func TestReadOnlyPrivate(t *testing.T) {
	for perms, want := range map[string]bool{
		"r-xp": true, "r--p": true,
		"rw-p": false, // the program's data
		"r--s": false, // shared with other processes
		"---p": false, // a guard region
		"rwxp": false, "": false, "r-x": false,
	} {
		if got := (mapping{perms: perms}).readOnlyPrivate(); got != want {
			t.Errorf("%q: %v, want %v", perms, got, want)
		}
	}
}

func TestOnMemoryFileSystem(t *testing.T) {
	for _, tt := range []struct {
		fsType int64
		want   bool
	}{
		{0x01021994, true},                // tmpfs
		{0x858458f6, true},                // ramfs
		{int64(int32(-2054924042)), true}, // ramfs in a 32-bit signed field
		{0xef53, false},                   // ext4
		{0x794c7630, false},               // overlayfs
	} {
		if got := onMemoryFileSystem(tt.fsType); got != tt.want {
			t.Errorf("type %#x: %v, want %v", tt.fsType, got, tt.want)
		}
	}
}

func TestMountTypeOf(t *testing.T) {
	const info = `22 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
23 22 0:42 / /upper rw,relatime shared:2 - tmpfs tmpfs rw,size=1024k
24 22 0:43 / /merged rw,relatime shared:3 master:9 - overlay overlay rw,lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w
25 22 0:5 / /dev rw,nosuid - devtmpfs devtmpfs rw
`
	for _, tt := range []struct {
		dev, want string
		found     bool
	}{
		{"fc:00", "ext4", true},     // 252:0
		{"00:2a", "tmpfs", true},    // 0:42, an overlay's upper layer
		{"00:2b", "overlay", true},  // 0:43: several optional fields before '-'
		{"00:05", "devtmpfs", true}, // not a memory file system for Release's test
		{"00:63", "", false},        // a layer the namespace does not show
		{"zz:00", "", false},        // not hexadecimal
		{"0000", "", false},         // no ':'
	} {
		got, found := mountTypeOf(info, tt.dev)
		if got != tt.want || found != tt.found {
			t.Errorf("mountTypeOf(%q) = %q, %v; want %q, %v", tt.dev, got, found, tt.want, tt.found)
		}
	}
}
