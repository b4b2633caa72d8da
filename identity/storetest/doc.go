// Package storetest is the conformance suite of [identity.Store]: every
// engine's tests call [Run], so that the engines behave the same and a new
// engine knows when it is done.
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) identity.Store {
//			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// Each subtest asks newStore for a fresh, empty store and closes it when the
// subtest ends; newStore registers any other cleanup (files, schemas) with
// t.Cleanup. The suite covers every method of the contract and each error it
// documents (ErrNotFound, ErrConflict, ErrCodeUsed, ErrExpired,
// ErrRefreshReused, ErrFamilyRevoked), races 20 goroutines on the paths
// that must be atomic (one redemption of a code, one rotation of a refresh
// token, a replay racing the rotation of its successor, one user per name,
// rotations of the signing key), runs [identity.RotationRetry] (the
// rotation grace) on the store, and checks [identity.GrantPruner] when the
// store implements it.
//
// Times are compared at millisecond precision and must come back in UTC;
// nil and empty slices are treated as the same.
package storetest
