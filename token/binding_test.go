package token_test

import (
	"errors"
	"testing"

	"github.com/gatehousehq/gatehouse/token"
)

// The binding decision for every scheme × cnf × client certificate: each
// fault, the DPoP proof left to the caller, and the certificate looked up
// only for a certificate-bound token that got that far.
func TestCheckBinding(t *testing.T) {
	cert := token.CertificateThumbprint([]byte("the holder's certificate"))
	other := token.CertificateThumbprint([]byte("a thief's certificate"))
	const jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	errLookup := errors.New("the proxy's header cannot be read")

	// The request's client certificate, by column of want.
	const (
		none = iota
		holders
		thiefs
		lookupFails
	)
	lookups := [...]func() (string, error){
		none:        func() (string, error) { return "", nil },
		holders:     func() (string, error) { return cert, nil },
		thiefs:      func() (string, error) { return other, nil },
		lookupFails: func() (string, error) { return "", errLookup },
	}
	ok := token.BindingVerdict{}
	proof := token.BindingVerdict{ProofJKT: jkt}
	fault := func(f token.BindingFault) token.BindingVerdict { return token.BindingVerdict{Fault: f} }
	var (
		dpopUnbound = fault(token.DPoPSchemeUnbound)
		uncheckable = fault(token.UncheckableBinding)
		unavailable = fault(token.ClientCertificateUnavailable)
		noCert      = fault(token.NoClientCertificate)
		otherCert   = fault(token.OtherClientCertificate)
		asBearer    = fault(token.DPoPBoundAsBearer)
	)

	tests := []struct {
		name       string
		dpopScheme bool
		cnf        *token.Confirmation
		// want by the request's certificate: none, the holder's, a
		// thief's, a lookup that fails.
		want [4]token.BindingVerdict
		// lookup: the certificate is looked up.
		lookup bool
	}{
		{"Bearer, no cnf", false, nil, [4]token.BindingVerdict{ok, ok, ok, ok}, false},
		{"Bearer, empty cnf", false, &token.Confirmation{}, [4]token.BindingVerdict{uncheckable, uncheckable, uncheckable, uncheckable}, false},
		{"Bearer, x5t#S256", false, &token.Confirmation{X5TS256: cert}, [4]token.BindingVerdict{noCert, ok, otherCert, unavailable}, true},
		{"Bearer, jkt", false, &token.Confirmation{JKT: jkt}, [4]token.BindingVerdict{asBearer, asBearer, asBearer, asBearer}, false},
		{"Bearer, x5t#S256 and jkt", false, &token.Confirmation{X5TS256: cert, JKT: jkt}, [4]token.BindingVerdict{noCert, asBearer, otherCert, unavailable}, true},
		{"DPoP, no cnf", true, nil, [4]token.BindingVerdict{dpopUnbound, dpopUnbound, dpopUnbound, dpopUnbound}, false},
		{"DPoP, empty cnf", true, &token.Confirmation{}, [4]token.BindingVerdict{dpopUnbound, dpopUnbound, dpopUnbound, dpopUnbound}, false},
		{"DPoP, x5t#S256", true, &token.Confirmation{X5TS256: cert}, [4]token.BindingVerdict{dpopUnbound, dpopUnbound, dpopUnbound, dpopUnbound}, false},
		{"DPoP, jkt", true, &token.Confirmation{JKT: jkt}, [4]token.BindingVerdict{proof, proof, proof, proof}, false},
		{"DPoP, x5t#S256 and jkt", true, &token.Confirmation{X5TS256: cert, JKT: jkt}, [4]token.BindingVerdict{noCert, proof, otherCert, unavailable}, true},
	}
	for _, tt := range tests {
		for c, want := range tt.want {
			calls := 0
			lookup := func() (string, error) { calls++; return lookups[c]() }
			claims := &token.Claims{Subject: "alice", Confirmation: tt.cnf}
			got := claims.CheckBinding(tt.dpopScheme, lookup)
			if got.Fault != want.Fault || got.ProofJKT != want.ProofJKT {
				t.Errorf("%s, certificate %d: got %v %q, want %v %q", tt.name, c, got.Fault, got.ProofJKT, want.Fault, want.ProofJKT)
			}
			if wantErr := want.Fault == token.ClientCertificateUnavailable; wantErr != errors.Is(got.Err, errLookup) || (!wantErr && got.Err != nil) {
				t.Errorf("%s, certificate %d: Err = %v", tt.name, c, got.Err)
			}
			if wantCalls := btoi(tt.lookup); calls != wantCalls {
				t.Errorf("%s, certificate %d: the certificate was looked up %d times, want %d", tt.name, c, calls, wantCalls)
			}
		}
	}
}

// btoi is 1 for true, 0 for false.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A nil lookup is a request without a client certificate.
func TestCheckBindingWithoutLookup(t *testing.T) {
	x5t := token.CertificateThumbprint([]byte("a certificate"))
	for _, tt := range []struct {
		cnf  *token.Confirmation
		want token.BindingFault
	}{
		{nil, token.NoBindingFault},
		{&token.Confirmation{X5TS256: x5t}, token.NoClientCertificate},
		{&token.Confirmation{X5TS256: x5t, JKT: "k"}, token.NoClientCertificate},
	} {
		if got := (&token.Claims{Confirmation: tt.cnf}).CheckBinding(false, nil); got.Fault != tt.want {
			t.Errorf("cnf %+v: %v, want %v", tt.cnf, got.Fault, tt.want)
		}
	}
}

// Every fault has a name of its own.
func TestBindingFaultString(t *testing.T) {
	seen := map[string]token.BindingFault{}
	for f := token.NoBindingFault; f <= token.DPoPBoundAsBearer; f++ {
		s := f.String()
		if prev, dup := seen[s]; dup {
			t.Errorf("faults %d and %d are both %q", prev, f, s)
		}
		seen[s] = f
	}
	if s := token.BindingFault(200).String(); s != "BindingFault(200)" {
		t.Errorf("an unknown fault: %q", s)
	}
}
