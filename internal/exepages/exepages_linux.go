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
	// A binary written moments ago (copied, unpacked from an image) has
	// dirty pages, which the kernel does not drop from the page cache,
	// in the large folios the write made, which a fault maps whole: write
	// them back first. Where that fails (a read-only file system) there
	// is nothing to write.
	_ = unix.Fdatasync(int(exe.Fd()))
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
