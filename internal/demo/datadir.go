package demo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The demo writes only into a data folder it made itself: it marks such a
// folder with MarkerFile, and refuses any other folder that is not new or
// empty (a real store above all: the demo reseeds the users and clients
// of its store, passwords and secrets included). 'gatehouse serve'
// refuses a marked folder in turn ([IsDemoFolder]).

// MarkerFile is the file, in the data folder, that marks a folder the
// demo created.
const MarkerFile = ".gatehouse-demo"

// markerVersion is the first line of MarkerFile; a later layout of the
// data folder changes the number after "gatehouse-demo ".
const markerVersion = "gatehouse-demo 1"

// markerText is what MarkerFile holds.
const markerText = markerVersion + `
This folder was made by 'gatehouse demo', which writes only into folders
that hold this file. Its users and passwords are the demo's: 'gatehouse
serve' refuses it as a store.
`

// ErrNotDemoData reports a data folder or database that the demo did not
// create and therefore refuses to write into. Errors that wrap it say what
// the place holds and what to do.
var ErrNotDemoData = errors.New("demo: not the demo's own data")

// refusal is an ErrNotDemoData with its explanation.
type refusal struct{ msg string }

func (r *refusal) Error() string        { return r.msg }
func (r *refusal) Is(target error) bool { return target == ErrNotDemoData }

// useInstead is what every refusal of a folder suggests.
const useInstead = "run the demo without --data (it uses ./" + DefaultData + "), or give --data a new or empty folder"

// folderClaim is the outcome of checking a data folder: create says that
// the folder is new or empty and needs the marker.
type folderClaim struct {
	dir    string
	create bool
}

// checkFolder decides, without writing anything, whether the demo may use
// dir: a folder that does not exist yet, an empty one, or one with the
// demo's marker. Anything else is an error wrapping ErrNotDemoData.
func checkFolder(dir string) (*folderClaim, error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &folderClaim{dir: dir, create: true}, nil
	case err != nil:
		return nil, fmt.Errorf("demo: data folder %s: %w", dir, err)
	case !fi.IsDir():
		return nil, &refusal{fmt.Sprintf("demo: the data folder %s is a file, not a folder: %s", dir, useInstead)}
	}
	marked, err := IsDemoFolder(dir)
	if err != nil {
		return nil, err
	}
	if marked {
		return &folderClaim{dir: dir}, nil
	}
	names, err := listSome(dir, 4)
	if err != nil {
		return nil, fmt.Errorf("demo: data folder %s: %w", dir, err)
	}
	switch {
	case len(names) == 0:
		return &folderClaim{dir: dir, create: true}, nil
	case exists(filepath.Join(dir, "gatehouse.db")):
		return nil, &refusal{fmt.Sprintf("demo: %s holds a gatehouse store (gatehouse.db) that the demo did not create (it has no %s file); "+
			"the demo never writes into such a store, whose users and clients it would overwrite: %s", dir, MarkerFile, useInstead)}
	default:
		return nil, &refusal{fmt.Sprintf("demo: the data folder %s is not empty (it holds %s) and was not made by the demo (it has no %s file); "+
			"the demo writes only into its own folders: %s", dir, strings.Join(names, ", "), MarkerFile, useInstead)}
	}
}

// claim creates the folder and its marker when they are missing.
func (c *folderClaim) claim() error {
	if !c.create {
		return nil
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("demo: create the data folder: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(c.dir, MarkerFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("demo: mark the data folder: %w", err)
	}
	_, err = io.WriteString(f, markerText)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("demo: mark the data folder: %w", err)
	}
	return nil
}

// IsDemoFolder reports whether dir holds the marker of a data folder that
// the demo created. A folder without it, or a missing folder, is not one;
// an error means the marker could not be read, or is not the demo's.
func IsDemoFolder(dir string) (bool, error) {
	p := filepath.Join(dir, MarkerFile)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("demo: read %s: %w", p, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return false, &refusal{fmt.Sprintf("demo: %s is not a regular file, so %s is not recognized as a folder of the demo: use another folder", p, dir)}
	}
	line, err := bufio.NewReader(io.LimitReader(f, 256)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("demo: read %s: %w", p, err)
	}
	if !strings.HasPrefix(strings.TrimSpace(line), "gatehouse-demo ") {
		return false, &refusal{fmt.Sprintf("demo: %s does not start with %q, so %s is not recognized as a folder of the demo: use another folder", p, markerVersion, dir)}
	}
	return true, nil
}

// SeededByOlderDemo reports whether dir, without the demo's marker, holds
// what a demo older than the marker left in its data folder (the file
// demo/seeded): a demo store from before, or a real store that such a demo
// reseeded, whose users and clients may be the demo's.
func SeededByOlderDemo(dir string) bool {
	if ok, _ := IsDemoFolder(dir); ok {
		return false
	}
	return exists(filepath.Join(dir, "demo", "seeded"))
}

// listSome returns up to n names of the entries of dir, sorted, and "…"
// after them when there may be more.
func listSome(dir string, n int) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(n)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	slices.Sort(names)
	if len(names) == n {
		names = append(names, "…")
	}
	return names, err
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
