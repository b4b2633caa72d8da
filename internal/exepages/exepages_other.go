//go:build !linux

package exepages

import "errors"

// Release is for Linux only: elsewhere it advises nothing and returns
// errors.ErrUnsupported.
func Release() (Result, error) {
	return Result{}, errors.ErrUnsupported
}

// CachedBytes is for Linux only: elsewhere it returns errors.ErrUnsupported.
func CachedBytes(path string) (uint64, error) {
	return 0, errors.ErrUnsupported
}

// DropCached is for Linux only: elsewhere it returns errors.ErrUnsupported.
func DropCached(path string) error {
	return errors.ErrUnsupported
}
