// Package exepages gives the kernel back the pages of the running
// program's binary that only its start touched.
//
// A Go program reads its binary through memory mappings: the code, the
// read-only data, the function table the runtime unwinds stacks with.
// Starting touches nearly all of it once, because every linked package runs
// its initialisation, and the kernel maps a file by windows of 16 pages
// around each page a program touches (fault-around) and reads ahead of it.
// So a server that links much more than it runs on its busy path, such as
// one binary holding an auth server, stores and a gateway, keeps most of
// its binary resident long after start, in its RSS and in the page cache.
//
// Release, called once the server is up, tells the kernel two things about
// the binary's read-only mappings: that they are read at random
// (MADV_RANDOM: a later fault maps and reads the one page it needs, with no
// window around it and no readahead), and that their pages may go
// (MADV_PAGEOUT: the kernel reclaims them now, from the process and from
// the page cache, unless another process maps them too). What the server
// then uses comes back one page at a time on first use, so what stays
// resident is what it runs. The pages of the file that readahead brought
// into the page cache and no process maps go too (POSIX_FADV_DONTNEED), and
// a binary written moments ago is written back first: the kernel reclaims
// clean pages only. Both are advice: no byte of the program
// changes, and a kernel without them refuses with an error that changes
// nothing.
//
//	if r, err := exepages.Release(); err == nil {
//		log.Info("start-up pages released", "bytes", r.Bytes)
//	}
//
// Release is for Linux; elsewhere it returns errors.ErrUnsupported. A binary
// on tmpfs is memory already: Release leaves it and returns
// ErrMemoryFileSystem.
package exepages

import "errors"

// ErrMemoryFileSystem is Release's answer for a binary on tmpfs or ramfs
// (a "go run" build in a /tmp of tmpfs): its pages are the file itself, in
// memory, so paging them out would only unmap them. Release then advises
// nothing.
var ErrMemoryFileSystem = errors.New("exepages: the executable is on a memory file system (tmpfs, ramfs): its pages are the file, and stay")

// Result is what Release advised.
type Result struct {
	// Mappings is the number of read-only mappings of the executable.
	Mappings int
	// Bytes is their size in all.
	Bytes uint64
}
