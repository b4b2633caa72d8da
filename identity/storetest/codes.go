package storetest

// The conformance tests of authorization codes: a code is redeemed once
// (ConsumeCode), keeps what was issued for it (SetCodeIssued), expires, and
// one of many concurrent redemptions wins.

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

func newCode(at time.Time) *identity.AuthCode {
	return &identity.AuthCode{
		Hash:                identity.HashToken(identity.NewSecret()),
		ClientID:            "web",
		UserID:              "user-1",
		RedirectURI:         "https://app.example/callback",
		Scope:               "openid profile orders:read",
		Audience:            []string{"orders"},
		Nonce:               "n-0S6_WzA2Mj",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		AuthTime:            at.Add(-time.Minute),
		ExpiresAt:           at.Add(time.Minute),
	}
}

func testCodes(t *testing.T, open opener) {
	t.Run("first ConsumeCode succeeds", func(t *testing.T) {
		s := open(t)
		at := now()
		c := newCode(at)
		must(t, "SaveCode", s.SaveCode(t.Context(), c))
		got, err := s.ConsumeCode(t.Context(), c.Hash, at)
		must(t, "ConsumeCode", err)
		c.UsedAt = at
		same(t, "ConsumeCode", c, got)
	})
	t.Run("a code keeps its DPoP key (dpop_jkt)", func(t *testing.T) {
		s := open(t)
		at := now()
		c := newCode(at)
		c.DPoPJKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
		must(t, "SaveCode", s.SaveCode(t.Context(), c))
		got, err := s.ConsumeCode(t.Context(), c.Hash, at)
		must(t, "ConsumeCode", err)
		c.UsedAt = at
		same(t, "ConsumeCode", c, got)
	})
	t.Run("second ConsumeCode returns ErrCodeUsed and what was issued", func(t *testing.T) {
		s := open(t)
		at := now()
		c := newCode(at)
		must(t, "SaveCode", s.SaveCode(t.Context(), c))
		_, err := s.ConsumeCode(t.Context(), c.Hash, at)
		must(t, "ConsumeCode", err)
		must(t, "SetCodeIssued", s.SetCodeIssued(t.Context(), c.Hash, "family-1", "jti-1"))
		for _, when := range []time.Time{at.Add(time.Second), c.ExpiresAt.Add(time.Hour)} {
			got, err := s.ConsumeCode(t.Context(), c.Hash, when)
			wantErr(t, "ConsumeCode again", err, identity.ErrCodeUsed)
			c.UsedAt, c.FamilyID, c.IssuedJTI = at, "family-1", "jti-1"
			same(t, "ConsumeCode again", c, got)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		s := open(t)
		at := now()
		c := newCode(at)
		must(t, "SaveCode", s.SaveCode(t.Context(), c))
		for _, when := range []time.Time{c.ExpiresAt, c.ExpiresAt.Add(time.Second)} {
			got, err := s.ConsumeCode(t.Context(), c.Hash, when)
			wantErr(t, fmt.Sprintf("ConsumeCode at expiry%+v", when.Sub(c.ExpiresAt)), err, identity.ErrExpired)
			if got != nil && !got.UsedAt.IsZero() {
				t.Errorf("ConsumeCode marked an expired code used")
			}
		}
		// The expired redemption did not use the code up.
		_, err := s.ConsumeCode(t.Context(), c.Hash, at)
		must(t, "ConsumeCode before expiry", err)
	})
	t.Run("unknown code", func(t *testing.T) {
		s := open(t)
		must(t, "SaveCode", s.SaveCode(t.Context(), newCode(now())))
		got, err := s.ConsumeCode(t.Context(), identity.HashToken("nope"), now())
		wantErr(t, "ConsumeCode", err, identity.ErrNotFound)
		if got != nil {
			t.Errorf("ConsumeCode returned %+v with ErrNotFound", got)
		}
		wantErr(t, "SetCodeIssued", s.SetCodeIssued(t.Context(), identity.HashToken("nope"), "f", "j"), identity.ErrNotFound)
	})
	t.Run("SaveCode refuses a taken hash", func(t *testing.T) {
		s := open(t)
		c := newCode(now())
		must(t, "SaveCode", s.SaveCode(t.Context(), c))
		dup := newCode(now())
		dup.Hash = c.Hash
		wantErr(t, "SaveCode again", s.SaveCode(t.Context(), dup), identity.ErrConflict)
	})
	t.Run("SaveCode refuses a code without hash or expiry", func(t *testing.T) {
		s := open(t)
		c := newCode(now())
		c.Hash = ""
		if err := s.SaveCode(t.Context(), c); err == nil {
			t.Error("SaveCode accepted an empty hash")
		}
		c = newCode(now())
		c.ExpiresAt = time.Time{}
		if err := s.SaveCode(t.Context(), c); err == nil {
			t.Error("SaveCode accepted a code that never expires")
		}
	})
	t.Run("concurrent ConsumeCode", func(t *testing.T) {
		s := open(t)
		at := now()
		c := newCode(at)
		must(t, "SaveCode", s.SaveCode(t.Context(), c))
		warmUp(t, s)
		errs := race(concurrency, func(int) error {
			_, err := s.ConsumeCode(t.Context(), c.Hash, at)
			return err
		})
		oneWinner(t, "ConsumeCode", errs, identity.ErrCodeUsed)
	})
}
