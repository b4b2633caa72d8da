package token_test

import (
	"encoding/json"
	"testing"

	"github.com/gatehousehq/gatehouse/token"
)

// RFC 8705 §3.1's example cnf member, decoded and re-encoded as issued.
func TestConfirmationJSON(t *testing.T) {
	in := `{"sub":"s","cnf":{"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}}`
	var c token.Claims
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	if !c.Bound() || c.Confirmation.X5TS256 != "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" || c.Confirmation.JKT != "" {
		t.Fatalf("cnf = %+v", c.Confirmation)
	}
	out, err := json.Marshal(token.Claims{Subject: "s", Confirmation: &token.Confirmation{JKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"sub":"s","cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}`; string(out) != want {
		t.Fatalf("encoded %s, want %s", out, want)
	}
	if (&token.Claims{}).Bound() {
		t.Fatal("claims without cnf report Bound")
	}
	if _, err := json.Marshal(token.Claims{Extra: map[string]any{"cnf": 1}}); err == nil {
		t.Fatal("a custom claim named cnf was accepted")
	}
}

func TestBoundToCertificate(t *testing.T) {
	der := []byte("a certificate's DER")
	other := []byte("another certificate's DER")
	bound := &token.Claims{Confirmation: &token.Confirmation{X5TS256: token.CertificateThumbprint(der)}}
	tests := []struct {
		name   string
		claims *token.Claims
		der    []byte
		want   bool
	}{
		{"the bound certificate", bound, der, true},
		{"another certificate", bound, other, false},
		{"no certificate", bound, nil, false},
		{"a bearer token", &token.Claims{}, der, false},
		{"a DPoP-bound token", &token.Claims{Confirmation: &token.Confirmation{JKT: "x"}}, der, false},
	}
	for _, tt := range tests {
		if got := tt.claims.BoundToCertificate(tt.der); got != tt.want {
			t.Errorf("%s: BoundToCertificate = %v, want %v", tt.name, got, tt.want)
		}
	}
	// base64url without padding of SHA-256: 43 characters.
	if n := len(token.CertificateThumbprint(der)); n != 43 {
		t.Errorf("thumbprint length %d, want 43", n)
	}
}
