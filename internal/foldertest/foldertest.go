// Package foldertest lets tests show that a refused command wrote nothing:
// a snapshot of every file and folder under a directory (mode, time and a
// hash of the content) taken before, compared with one taken after.
package foldertest

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"testing"
)

// Snapshot describes every file and folder under dir.
func Snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		desc := fi.Mode().String() + " " + fi.ModTime().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			desc += " " + hex.EncodeToString(sum[:])
		}
		out[p] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Unchanged fails t unless dir is as it was when before was taken.
func Unchanged(t testing.TB, dir string, before map[string]string) {
	t.Helper()
	if after := Snapshot(t, dir); !maps.Equal(before, after) {
		t.Errorf("the refused folder changed:\nbefore %v\nafter  %v", before, after)
	}
}
