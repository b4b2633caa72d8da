package exepages

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Release advises the kernel about the read-only mappings of the running
// executable: read at random, then paged out, and then drops the pages of
// the file that readahead brought in and nothing maps (see the package
// doc). It returns what it advised; an error says which step the kernel
// refused, and leaves the mappings as they were or only advised.
func Release() (Result, error) {
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		return Result{}, fmt.Errorf("exepages: the executable: %w", err)
	}
	defer exe.Close()
	info, err := exe.Stat()
	if err != nil {
		return Result{}, fmt.Errorf("exepages: the executable: %w", err)
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return Result{}, fmt.Errorf("exepages: the executable: no device and inode in its file information")
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(exe.Fd()), &fs); err == nil && (fs.Type == unix.TMPFS_MAGIC || fs.Type == unix.RAMFS_MAGIC) {
		return Result{}, ErrMemoryFileSystem
	}
	text, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return Result{}, fmt.Errorf("exepages: %w", err)
	}
	maps, err := parseMaps(string(text))
	if err != nil {
		return Result{}, fmt.Errorf("exepages: /proc/self/maps: %w", err)
	}
	// A binary written moments ago (copied, unpacked from an image) has
	// dirty pages, which the kernel does not reclaim, in the large folios
	// the write made, which a fault maps whole: write them back first. A
	// file system that cannot (read-only) has none; its error changes
	// nothing.
	_ = unix.Fdatasync(int(exe.Fd()))
	dev := devName(unix.Major(st.Dev), unix.Minor(st.Dev))
	var r Result
	for _, m := range maps {
		if m.inode != st.Ino || m.dev != dev || !m.readOnlyPrivate() {
			continue
		}
		size := m.end - m.start
		for _, advice := range []struct {
			name  string
			value int
		}{{"MADV_RANDOM", unix.MADV_RANDOM}, {"MADV_PAGEOUT", unix.MADV_PAGEOUT}} {
			if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, size, uintptr(advice.value)); errno != 0 {
				return r, fmt.Errorf("exepages: madvise(%s) of %#x-%#x: %w", advice.name, m.start, m.end, errno)
			}
		}
		r.Mappings++
		r.Bytes += uint64(size)
	}
	if r.Mappings == 0 {
		return r, fmt.Errorf("exepages: no read-only mapping of the executable (inode %d on %s) in /proc/self/maps", st.Ino, dev)
	}
	// What readahead brought into the page cache and nothing maps: the
	// kernel drops such pages of the file only, clean and unmapped ones.
	if err := unix.Fadvise(int(exe.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return r, fmt.Errorf("exepages: posix_fadvise(POSIX_FADV_DONTNEED) of the executable: %w", err)
	}
	return r, nil
}
