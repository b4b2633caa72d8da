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
// Release, called once the server is up, tells the kernel about the
// binary's read-only mappings that the process holds no copy of:
//
//   - MADV_RANDOM: they are read at random, so a later fault reads from
//     the file the one page it needs, without readahead (it still maps the
//     neighbouring pages the page cache holds, up to 64 KiB around it, and
//     after the release the cache holds few);
//   - MADV_DONTNEED: the process lets their pages go; what it uses comes
//     back from the file on first use, so what stays resident is what it
//     runs;
//   - POSIX_FADV_DONTNEED of the file: the kernel drops from the page cache
//     the file's clean pages that no process maps, so the memory is freed,
//     not only unmapped. Pages another process maps (another instance of
//     the same binary) stay.
//
// A binary written moments ago is written back first (fdatasync): the
// kernel drops clean pages only. A large folio (which a write of the whole
// file makes) stays cached as long as one of its pages is mapped, so the
// advice is given twice. None of this changes a byte the program reads: a
// mapping the process holds copies in, in memory or swapped out (a
// position-independent binary's relocated read-only data, a debugger's or
// uprobe's breakpoints), or has locked with mlock is left alone, since
// dropping it would put the file's bytes back in place of the copies. A
// breakpoint set in the milliseconds between reading the mappings and
// the advice would be lost.
//
//	if r, err := exepages.Release(); err == nil {
//		log.Info("start-up pages released", "bytes", r.Bytes)
//	}
//
// Release is for Linux; elsewhere it returns errors.ErrUnsupported. A binary
// on tmpfs or ramfs, or on an overlay whose layer is one of them, is memory
// already: Release leaves it and returns ErrMemoryFileSystem. A seccomp filter of one's own must allow madvise,
// fadvise64 and fdatasync, which the Go runtime itself never calls.
package exepages

import "errors"

// ErrMemoryFileSystem is Release's answer for a binary on tmpfs or ramfs
// (a "go run" build in a /tmp of tmpfs): its pages are the file itself, in
// memory, so letting them go would only unmap them. Release then advises
// nothing.
var ErrMemoryFileSystem = errors.New("exepages: the executable is on a memory file system (tmpfs, ramfs): its pages are the file, and stay")

// Result is what Release advised.
type Result struct {
	// Mappings is the number of read-only mappings of the executable
	// advised.
	Mappings int
	// Bytes is their size in all.
	Bytes uint64
	// Skipped is the number of read-only mappings left as they were:
	// the process holds copies of some of their pages, or locked them.
	Skipped int
}
