//go:build linux

package exepages

import (
	"strings"
	"testing"
)

func TestParseMaps(t *testing.T) {
	good := `00400000-00a6b000 r-xp 00000000 fd:01 1234                               /usr/local/bin/gatehouse
00a6b000-011f2000 r--p 0066b000 fd:01 1234                               /usr/local/bin/gatehouse
011f2000-01232000 rw-p 00df2000 fd:01 1234                               /usr/local/bin/gatehouse
01232000-01270000 rw-p 00000000 00:00 0
c000000000-c000400000 rw-p 00000000 00:00 0
7ffd1e5f2000-7ffd1e5f4000 r-xp 00000000 00:00 0                          [vdso]
`
	maps, err := parseMaps(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 6 {
		t.Fatalf("%d mappings, want 6", len(maps))
	}
	want := mapping{start: 0xa6b000, end: 0x11f2000, perms: "r--p", dev: "fd:01", inode: 1234}
	if maps[1] != want {
		t.Errorf("second mapping %+v, want %+v", maps[1], want)
	}
	var readOnly []string
	for _, m := range maps {
		if m.readOnlyPrivate() {
			readOnly = append(readOnly, m.perms)
		}
	}
	// The vdso is read-only too: Release skips it by its inode, 0.
	if got := strings.Join(readOnly, " "); got != "r-xp r--p r-xp" {
		t.Errorf("read-only private mappings %q, want the text, the read-only data and the vdso", got)
	}

	for _, tt := range []struct{ name, text, want string }{
		{"few fields", "00400000-00a6b000 r-xp 00000000 fd:01\n", "line 1: 4 fields"},
		{"no dash", "00400000 r-xp 00000000 fd:01 1234\n", `line 1: address range "00400000" has no '-'`},
		{"bad start", "0040zz00-00a6b000 r-xp 00000000 fd:01 1234\n", "line 1: start address"},
		{"bad end", "00400000-xyz r-xp 00000000 fd:01 1234\n", "line 1: end address"},
		{"backwards", "00a6b000-00400000 r-xp 00000000 fd:01 1234\n", "line 1: range ends before it starts"},
		{"bad inode", "00400000-00a6b000 r-xp 00000000 fd:01 -1\n", "line 1: inode"},
		{"second line", "00400000-00a6b000 r-xp 00000000 fd:01 1234\nnonsense\n", "line 2: 1 fields"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseMaps(tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
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

func TestDevName(t *testing.T) {
	for _, tt := range []struct {
		major, minor uint32
		want         string
	}{{0xfd, 1, "fd:01"}, {8, 0x12, "08:12"}, {259, 3, "103:03"}, {0, 0, "00:00"}} {
		if got := devName(tt.major, tt.minor); got != tt.want {
			t.Errorf("devName(%d, %d) = %q, want %q", tt.major, tt.minor, got, tt.want)
		}
	}
}
