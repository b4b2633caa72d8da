package exepages

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Release advises the kernel about the read-only mappings of the running
// executable: read at random, then dropped from the process, and then the
// pages of the file that nothing maps dropped from the page cache (see the
// package doc). It returns what it advised. An error says which step the
// kernel refused; the mapping it refused is advised back to normal
// reading, and the ones before it stay released.
func Release() (Result, error) {
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		return Result{}, fmt.Errorf("exepages: the executable: %w", err)
	}
	defer exe.Close()
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(exe.Fd()), &fs); err == nil && onMemoryFileSystem(int64(fs.Type)) {
		return Result{}, ErrMemoryFileSystem
	}
	// A binary written moments ago (copied, unpacked from an image) has
	// dirty pages, which the kernel does not drop from the page cache:
	// write them back first, before the mappings are read, so that what
	// they say is fresh when the advice comes. Where that fails (a
	// read-only file system) there is nothing to write.
	_ = unix.Fdatasync(int(exe.Fd()))
	text, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return Result{}, fmt.Errorf("exepages: %w", err)
	}
	maps, err := parseSmaps(string(text))
	if err != nil {
		return Result{}, fmt.Errorf("exepages: /proc/self/smaps: %w", err)
	}
	// The mappings of the file that holds this code: the kernel's own
	// device and inode, which on overlayfs may differ from what stat says.
	pc, _, _, _ := runtime.Caller(0)
	targets, skipped, err := releasable(maps, pc)
	if err != nil {
		return Result{}, fmt.Errorf("exepages: %w", err)
	}
	r := Result{Skipped: skipped}
	// The file system the kernel maps the pages from: under an overlay,
	// the layer's, which statfs of the overlay's file does not tell.
	if len(targets) > 0 {
		if info, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
			if fsType, ok := mountTypeOf(string(info), targets[0].dev); ok && (fsType == "tmpfs" || fsType == "ramfs") {
				return Result{}, ErrMemoryFileSystem
			}
		}
	}
	for _, m := range targets {
		size := m.end - m.start
		if err := madvise(m.start, size, unix.MADV_RANDOM); err != nil {
			return r, fmt.Errorf("exepages: madvise(MADV_RANDOM) of the executable's %s mapping: %w", m.perms, err)
		}
		if err := madvise(m.start, size, unix.MADV_DONTNEED); err != nil {
			_ = madvise(m.start, size, unix.MADV_NORMAL)
			return r, fmt.Errorf("exepages: madvise(MADV_DONTNEED) of the executable's %s mapping: %w", m.perms, err)
		}
		r.Mappings++
		r.Bytes += uint64(size)
	}
	// The pages this process just let go, and those readahead brought in:
	// the kernel drops the file's clean pages that no process maps.
	if err := unix.Fadvise(int(exe.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return r, fmt.Errorf("exepages: posix_fadvise(POSIX_FADV_DONTNEED) of the executable: %w", err)
	}
	// A large folio (as a write of the whole file makes) that the running
	// code mapped again in between stays cached whole: once more, now
	// that only pages in use are cached again.
	for _, m := range targets {
		_ = madvise(m.start, m.end-m.start, unix.MADV_DONTNEED)
	}
	_ = unix.Fadvise(int(exe.Fd()), 0, 0, unix.FADV_DONTNEED)
	return r, nil
}

// madvise advises the kernel about the pages at [start, start+size).
func madvise(start, size uintptr, advice int) error {
	if _, _, errno := unix.Syscall(unix.SYS_MADVISE, start, size, uintptr(advice)); errno != 0 {
		return errno
	}
	return nil
}

// onMemoryFileSystem reports whether a statfs type is tmpfs or ramfs.
// The type's width differs between architectures; the magic numbers are
// 32 bits.
func onMemoryFileSystem(fsType int64) bool {
	t := uint32(fsType)
	return t == uint32(unix.TMPFS_MAGIC) || t == uint32(unix.RAMFS_MAGIC)
}
