package main

import (
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/redisconn"
)

// URLs must reach logs and messages without any of their passwords: the
// user's, Sentinel's ?password= and ?sentinel_password=, pgx's ?password=.
func TestRedactURLHidesQueryPasswords(t *testing.T) {
	sentinel := "redis://sentinel-user:S3ntPw@10.0.0.1:26379/0?master_name=mymaster&username=app&password=S3cretMasterPw"
	if _, err := redisconn.Open(sentinel); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ raw, keep string }{
		{sentinel, "master_name=mymaster"},
		{"redis://10.0.0.1:26379/0?master_name=m&sentinel_password=S3ntPw", "master_name=m"},
		{"postgres://gatehouse@db:5432/gh?sslmode=disable&password=S3cretPg", "sslmode=disable"},
		{"postgres://db/gh?PASSWORD=S3cretPg&sslpassword=S3cretKey", "postgres://db/gh"},
		{"host=db user=gatehouse password=S3cretDSN", "unparsable"},
		{"redis://:S3cretPlain@127.0.0.1:6379/0", "127.0.0.1:6379"},
	} {
		got := redactURL(tc.raw)
		if strings.Contains(got, "S3") {
			t.Errorf("redactURL(%q) = %q: holds a password", tc.raw, got)
		}
		if !strings.Contains(got, tc.keep) {
			t.Errorf("redactURL(%q) = %q: want %q in it", tc.raw, got, tc.keep)
		}
	}
	msg := scrubPassword("dial failed: password S3cretPg rejected", "postgres://gatehouse@db/gh?password=S3cretPg")
	if strings.Contains(msg, "S3cretPg") {
		t.Errorf("scrubPassword left the query password: %q", msg)
	}
}

func TestScrubPasswordOfADSN(t *testing.T) {
	msg := scrubPassword("failed to connect: password=S3cretDSN host=db", "host=db user=gatehouse password=S3cretDSN")
	if strings.Contains(msg, "S3cretDSN") {
		t.Errorf("scrubPassword left the DSN password: %q", msg)
	}
}
