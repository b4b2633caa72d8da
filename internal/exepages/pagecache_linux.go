package exepages

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// CachedBytes is how much of the file at path the page cache holds:
// mincore of a shared mapping of it that touches none of its pages. The
// kernel answers so only to the file's owner, a process that may write it,
// or root; to anyone else it reports the pages that process maps, none.
func CachedBytes(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("exepages: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("exepages: %w", err)
	}
	if st.Size() == 0 {
		return 0, nil
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return 0, fmt.Errorf("exepages: mmap of %s: %w", path, err)
	}
	defer unix.Munmap(data)
	page := os.Getpagesize()
	vec := make([]byte, (len(data)+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&data[0])), uintptr(len(data)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		return 0, fmt.Errorf("exepages: mincore of %s: %w", path, errno)
	}
	var n uint64
	for _, v := range vec {
		n += uint64(v & 1)
	}
	return n * uint64(page), nil
}

// DropCached asks the kernel to drop from the page cache the clean pages
// of the file at path that no process maps (POSIX_FADV_DONTNEED), as
// Release does for the executable: what the cache holds afterwards is what
// processes read from then on.
func DropCached(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("exepages: %w", err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("exepages: posix_fadvise(POSIX_FADV_DONTNEED) of %s: %w", path, err)
	}
	return nil
}
