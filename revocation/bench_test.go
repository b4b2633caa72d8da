package revocation_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/token"
)

// BenchmarkRevoked is the cost the deny list adds to each verification,
// with 10,000 entries of each kind and a token that none matches (the
// common case); "floor" is one map lookup by jti.
func BenchmarkRevoked(b *testing.B) {
	now := time.Now()
	c := &token.Claims{ID: "not-revoked", Subject: "alice", ClientID: "web", IssuedAt: token.At(now)}
	b.Run("floor", func(b *testing.B) {
		m := map[string]time.Time{}
		for i := range 10_000 {
			m["t"+strconv.Itoa(i)] = now.Add(time.Hour)
		}
		for b.Loop() {
			if _, ok := m[c.ID]; ok {
				b.Fatal("revoked")
			}
		}
	})
	b.Run("list", func(b *testing.B) {
		l, err := revocation.NewMemory()
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		for i := range 10_000 {
			s := strconv.Itoa(i)
			l.Add(ctx, revocation.ByToken("t"+s, now.Add(time.Hour)))
			l.Add(ctx, revocation.BySubject("u"+s, now, now.Add(time.Hour)))
			l.Add(ctx, revocation.ByClient("c"+s, now, now.Add(time.Hour)))
		}
		for b.Loop() {
			if r, err := l.Revoked(ctx, c); r || err != nil {
				b.Fatal(r, err)
			}
		}
	})
}
