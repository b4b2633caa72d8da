//go:build !linux

package exepages

import "errors"

// Release is for Linux only: elsewhere it advises nothing and returns
// errors.ErrUnsupported.
func Release() (Result, error) {
	return Result{}, errors.ErrUnsupported
}
