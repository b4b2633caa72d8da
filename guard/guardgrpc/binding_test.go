package guardgrpc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/gatehousehq/gatehouse/guard/guardgrpc"
	"github.com/gatehousehq/gatehouse/token"
)

// selfSigned is a certificate for name (server or client).
func selfSigned(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestCertificateBoundOverGRPC: a certificate-bound token is good over
// the connection of its certificate only, cached or not; a DPoP-bound
// token is refused (RFC 9449 has no gRPC binding).
func TestCertificateBoundOverGRPC(t *testing.T) {
	f := newFixture(t)
	server, alice, mallory := selfSigned(t, "orders"), selfSigned(t, "alice"), selfSigned(t, "mallory")
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{server}, ClientAuth: tls.RequestClientCert})),
		grpc.UnaryInterceptor(guardgrpc.UnaryServerInterceptor(f.g)))
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	roots := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(server.Certificate[0])
	roots.AddCert(leaf)
	client := func(cert *tls.Certificate) healthpb.HealthClient {
		cfg := &tls.Config{RootCAs: roots, ServerName: "orders"}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		conn, err := grpc.NewClient("passthrough:///bufnet",
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return healthpb.NewHealthClient(conn)
	}
	bound := f.iss.Token(token.Claims{Confirmation: &token.Confirmation{X5TS256: token.CertificateThumbprint(alice.Certificate[0])}})
	dpopBound := f.iss.Token(token.Claims{Confirmation: &token.Confirmation{JKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}})
	call := func(c healthpb.HealthClient, auth string) codes.Code {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", auth)
		_, err := c.Check(ctx, &healthpb.HealthCheckRequest{})
		return status.Code(err)
	}
	asAlice, asMallory, anonymous := client(&alice), client(&mallory), client(nil)
	for _, tc := range []struct {
		name string
		c    healthpb.HealthClient
		auth string
		want codes.Code
	}{
		{"the holder", asAlice, "Bearer " + bound, codes.OK},
		{"another certificate", asMallory, "Bearer " + bound, codes.Unauthenticated},
		{"no certificate", anonymous, "Bearer " + bound, codes.Unauthenticated},
		{"the holder again", asAlice, "Bearer " + bound, codes.OK},
		{"DPoP-bound", asAlice, "DPoP " + dpopBound, codes.Unauthenticated},
		{"DPoP-bound as Bearer", asAlice, "Bearer " + dpopBound, codes.Unauthenticated},
		{"bearer", anonymous, "Bearer " + f.iss.Token(token.Claims{}), codes.OK},
	} {
		if got := call(tc.c, tc.auth); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
