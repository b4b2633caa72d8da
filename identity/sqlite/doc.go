// Package sqlite is the embedded [identity.Store]: one SQLite file, no
// server, no cgo (modernc.org/sqlite). It is gatehouse's default store, for
// a single auth server instance; use identity/postgres for several.
//
//	s, err := sqlite.Open(ctx, "gatehouse-data/gatehouse.db")
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//	u := &identity.User{Username: "alice", PasswordHash: hash, Groups: []string{"admin"}}
//	if err := s.CreateUser(ctx, u); errors.Is(err, identity.ErrConflict) {
//		// alice exists
//	}
//
// Open creates the folder (0700) and the file (0600: it holds password
// hashes and the private signing keys) and applies the schema migrations
// embedded in the binary (goose, versions kept in the table
// gatehouse_schema_version), so a newer binary upgrades an older file.
//
// The file is in WAL mode with synchronous=FULL: readers never wait for the
// writer, and a committed refresh token or revocation survives a crash or a
// power cut. Writes go through one connection and each transaction begins
// IMMEDIATE, so the read-modify-write paths (ConsumeCode,
// RotateRefreshToken, RotateSigningKey) are serialized without SQLITE_BUSY
// errors; busy_timeout covers another process (a `gatehouse user` command)
// writing at the same moment.
//
// Times are stored as unix milliseconds, lists as JSON arrays. Errors start
// with "sqlite: " and wrap the identity sentinels.
package sqlite
