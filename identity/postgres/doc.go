// Package postgres is the [identity.Store] on PostgreSQL, for several auth
// server instances sharing users, clients, grants, revocations and signing
// keys.
//
//	s, err := postgres.Open(ctx, "postgres://gatehouse@db:5432/gatehouse?sslmode=verify-full")
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//	old, err := s.RotateRefreshToken(ctx, identity.HashToken(presented), next, time.Now())
//	if errors.Is(err, identity.ErrRefreshReused) {
//		// old was rotated before: the store has revoked its family
//	}
//
// Open (or [OpenConfig], for a pool configuration a URL cannot express)
// connects a pgxpool and applies the schema migrations embedded in the
// binary with goose, under a session advisory lock so that instances
// starting together take turns; the versions are kept in the table
// gatehouse_schema_version. Tables go to the first schema of the
// search_path, which the URL can set: ...?search_path=gatehouse.
//
// The read-modify-write paths lock what they read: ConsumeCode and
// RotateRefreshToken use SELECT ... FOR UPDATE (the token, then its
// family), so of two instances redeeming the same code or rotating the same
// token one wins and the other sees it used; RotateSigningKey locks the
// signing_keys table against other rotations, so one key stays active.
//
// Times are timestamptz rounded down to the millisecond (as in
// identity/sqlite), lists are text[]. Errors start with "postgres: " and
// wrap the identity sentinels: a unique violation is ErrConflict, no rows
// ErrNotFound.
package postgres
