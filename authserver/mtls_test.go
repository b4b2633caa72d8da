package authserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/workload"
)

var (
	testTD     = spiffeid.RequireTrustDomainFromString("gatehouse.test")
	ordersID   = spiffeid.RequireFromPath(testTD, "/orders")
	paymentsID = spiffeid.RequireFromPath(testTD, "/payments")
)

const boundSecret = "bound-secret-0123456789"

// mtlsEnv is an auth server with its mutual-TLS listener (an httptest
// TLS server that requests, and does not verify, client certificates),
// trusting the SPIFFE CA ca for tls_client_auth.
type mtlsEnv struct {
	*env
	mtls *httptest.Server
	ca   *workload.CA
	// selfKey is the key of the self-signed client "selfie".
	selfKey *ecdsa.PrivateKey
}

func newMTLSEnv(t *testing.T, tweak ...func(*authserver.Config)) *mtlsEnv {
	t.Helper()
	ca, err := workload.NewCA(testTD)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	ts.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	e := newEnv(t, append([]func(*authserver.Config){func(c *authserver.Config) {
		c.MTLSURL = "https://" + ts.Listener.Addr().String()
		c.MTLSClientCAs = roots
	}}, tweak...)...)
	h = e.srv.MTLSHandler()
	ts.StartTLS()
	t.Cleanup(ts.Close)

	selfKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks := jwksOf(t, selfKey)
	for _, c := range []*identity.Client{
		{ID: "orders", TLSClientAuthSANURI: ordersID.String(), CertificateBoundTokens: true,
			Grants: []string{identity.GrantClientCredentials}, Scopes: []string{"payments:write"}, Audiences: []string{"payments"}},
		{ID: "billing", TLSClientAuthSubjectDN: "CN=billing, O=Example Corp", Grants: []string{identity.GrantClientCredentials},
			Scopes: []string{"payments:write"}, Audiences: []string{"payments"}},
		{ID: "selfie", SelfSignedTLSClientAuth: true, JWKS: jwks, CertificateBoundTokens: true,
			Grants: []string{identity.GrantClientCredentials}, Audiences: []string{"payments"}},
		{ID: "bound", SecretHash: mustHash(t, boundSecret), CertificateBoundTokens: true,
			Grants: []string{identity.GrantClientCredentials}, Audiences: []string{"payments"}},
	} {
		if err := e.store.CreateClient(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	return &mtlsEnv{env: e, mtls: ts, ca: ca, selfKey: selfKey}
}

func jwksOf(t *testing.T, key *ecdsa.PrivateKey) string {
	t.Helper()
	k, err := keys.New(keys.ES256, &key.PublicKey, keys.WithID("k1"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := keys.MarshalJWKS(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(doc)
}

// svidCert issues a workload certificate of ca for id.
func svidCert(t *testing.T, ca *workload.CA, id spiffeid.ID) *tls.Certificate {
	t.Helper()
	svid, err := ca.Issue(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{svid.Certificates[0].Raw}, PrivateKey: svid.PrivateKey, Leaf: svid.Certificates[0]}
}

// selfSigned makes a self-signed client certificate of key (a new key when
// nil), with subject cn.
func selfSigned(t *testing.T, key *ecdsa.PrivateKey, subject pkix.Name) *tls.Certificate {
	t.Helper()
	if key == nil {
		key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: subject, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// caSigned makes a CA (a self-signed CA certificate and its key) and a
// client certificate it signs with subject and uri SAN.
func caSigned(t *testing.T, subject pkix.Name, uri string) (*x509.Certificate, *tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: subject, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	if uri != "" {
		u, _ := url.Parse(uri)
		tmpl.URIs = []*url.URL{u}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return caCert, &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// httpsClient is a client of ts presenting cert (none when nil), on
// connections of its own.
func httpsClient(ts *httptest.Server, cert *tls.Certificate) *http.Client {
	tr := ts.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if cert == nil {
			return &tls.Certificate{}, nil
		}
		return cert, nil
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// tokenRequest posts form to the token endpoint at base with client and
// returns the status and the decoded answer.
func tokenRequest(t *testing.T, client *http.Client, base string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := client.PostForm(base+"/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func clientCredentialsForm(id string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}}
}

// boundClaims verifies an access token as a resource server for payments.
func (m *mtlsEnv) boundClaims(t *testing.T, raw any) *token.Claims {
	t.Helper()
	s, _ := raw.(string)
	c, err := m.verifier(t, "payments").Verify(context.Background(), s)
	if err != nil {
		t.Fatalf("the access token does not verify: %v", err)
	}
	return c
}

func TestMTLSClientAuthGetsCertificateBoundToken(t *testing.T) {
	m := newMTLSEnv(t)
	cert := svidCert(t, m.ca, ordersID)
	status, out := tokenRequest(t, httpsClient(m.mtls, cert), m.mtls.URL, clientCredentialsForm("orders"))
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, out)
	}
	if out["token_type"] != "Bearer" {
		t.Errorf("token_type = %v, want Bearer (RFC 8705 §3)", out["token_type"])
	}
	c := m.boundClaims(t, out["access_token"])
	if c.Confirmation == nil || c.Confirmation.X5TS256 != token.CertificateThumbprint(cert.Leaf.Raw) || !c.BoundToCertificate(cert.Leaf.Raw) {
		t.Fatalf("cnf = %+v, want x5t#S256 of the client certificate", c.Confirmation)
	}
	if c.ClientID != "orders" || c.Subject != "orders" {
		t.Errorf("client_id %q sub %q, want orders", c.ClientID, c.Subject)
	}
}

func TestMTLSClientAuthRefusals(t *testing.T) {
	m := newMTLSEnv(t, func(c *authserver.Config) { c.ClientThrottle = authserver.ThrottleConfig{Free: 100} })
	_, otherCA := caSigned(t, pkix.Name{CommonName: "orders"}, ordersID.String())
	_, billingOtherCA := caSigned(t, pkix.Name{CommonName: "billing", Organization: []string{"Example Corp"}}, "")
	for _, tc := range []struct {
		name, client string
		cert         *tls.Certificate
	}{
		{"a certificate of another CA with the same SPIFFE ID", "orders", otherCA},
		{"the right CA and another SPIFFE ID", "orders", svidCert(t, m.ca, paymentsID)},
		{"no certificate", "orders", nil},
		{"a self-signed certificate for a tls_client_auth client", "orders", selfSigned(t, nil, pkix.Name{CommonName: "orders"})},
		{"a subject client with a certificate of another CA", "billing", billingOtherCA},
		{"a subject client with a workload certificate of another subject", "billing", svidCert(t, m.ca, ordersID)},
		{"self-signed with a key that is not registered", "selfie", selfSigned(t, nil, pkix.Name{CommonName: "selfie"})},
		{"a CA-signed certificate for the self-signed client", "selfie", svidCert(t, m.ca, ordersID)},
		{"self-signed client without a certificate", "selfie", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := tokenRequest(t, httpsClient(m.mtls, tc.cert), m.mtls.URL, clientCredentialsForm(tc.client))
			if status != http.StatusBadRequest || out["error"] != "invalid_client" {
				t.Fatalf("got %d %v, want 400 invalid_client", status, out)
			}
			if _, ok := out["access_token"]; ok {
				t.Fatal("an access token was issued")
			}
		})
	}
}

func TestMTLSSubjectAndSelfSigned(t *testing.T) {
	m := newMTLSEnv(t)
	// A subject DN registered as "CN=billing, O=Example Corp" matches a
	// certificate whose subject is O=Example Corp, CN=billing, whatever
	// the case and spaces.
	roots := x509.NewCertPool()
	caCert, billing := caSigned(t, pkix.Name{CommonName: "Billing", Organization: []string{"example  corp"}}, "")
	roots.AddCert(caCert)
	roots.AddCert(m.ca.Certificate())
	m2 := newMTLSEnv(t, func(c *authserver.Config) { c.MTLSClientCAs = roots })
	status, out := tokenRequest(t, httpsClient(m2.mtls, billing), m2.mtls.URL, clientCredentialsForm("billing"))
	if status != http.StatusOK {
		t.Fatalf("subject DN client: %d %v", status, out)
	}
	if c := m2.boundClaims(t, out["access_token"]); c.Confirmation != nil {
		t.Errorf("billing does not ask for bound tokens, got cnf %+v", c.Confirmation)
	}

	cert := selfSigned(t, m.selfKey, pkix.Name{CommonName: "selfie"})
	status, out = tokenRequest(t, httpsClient(m.mtls, cert), m.mtls.URL, clientCredentialsForm("selfie"))
	if status != http.StatusOK {
		t.Fatalf("self-signed with the registered key: %d %v", status, out)
	}
	if c := m.boundClaims(t, out["access_token"]); !c.BoundToCertificate(cert.Leaf.Raw) {
		t.Errorf("cnf = %+v, want the self-signed certificate's thumbprint", c.Confirmation)
	}
}

// A certificate presented on the main listener counts for nothing, even
// when that listener speaks TLS and asks for one.
func TestMTLSCertificateOnThePlainListenerIgnored(t *testing.T) {
	m := newMTLSEnv(t)
	plain := httptest.NewUnstartedServer(m.srv.Handler())
	plain.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	plain.StartTLS()
	defer plain.Close()
	cert := svidCert(t, m.ca, ordersID)
	status, out := tokenRequest(t, httpsClient(plain, cert), plain.URL, clientCredentialsForm("orders"))
	if status != http.StatusBadRequest || out["error"] != "invalid_client" {
		t.Fatalf("got %d %v, want 400 invalid_client", status, out)
	}
	// Nor does a header that claims one.
	req, _ := http.NewRequest(http.MethodPost, m.url+"/oauth2/token", strings.NewReader(clientCredentialsForm("orders").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Client-Cert", "Hash=abc;URI="+ordersID.String())
	req.Header.Set("X-SSL-Client-Cert", "-----BEGIN CERTIFICATE-----")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a client certificate header: %d, want 400", resp.StatusCode)
	}
}

// A client with certificate-bound tokens that authenticates with a secret
// gets a token bound to the certificate of its connection, and none
// without one.
func TestMTLSBoundTokenNeedsCertificate(t *testing.T) {
	m := newMTLSEnv(t)
	form := clientCredentialsForm("bound")
	form.Set("client_secret", boundSecret)
	status, out := tokenRequest(t, http.DefaultClient, m.url, form)
	if status != http.StatusBadRequest || out["error"] != "invalid_request" || !strings.Contains(out["error_description"].(string), "certificate") {
		t.Fatalf("without a certificate: %d %v, want 400 invalid_request naming the certificate", status, out)
	}
	status, out = tokenRequest(t, httpsClient(m.mtls, nil), m.mtls.URL, form)
	if status != http.StatusBadRequest || out["error"] != "invalid_request" {
		t.Fatalf("mTLS listener without a certificate: %d %v, want 400 invalid_request", status, out)
	}
	cert := selfSigned(t, nil, pkix.Name{CommonName: "anything"})
	status, out = tokenRequest(t, httpsClient(m.mtls, cert), m.mtls.URL, form)
	if status != http.StatusOK {
		t.Fatalf("with a certificate: %d %v", status, out)
	}
	if c := m.boundClaims(t, out["access_token"]); !c.BoundToCertificate(cert.Leaf.Raw) {
		t.Errorf("cnf = %+v, want the connection's certificate", c.Confirmation)
	}
}

// A renewed workload certificate (same SPIFFE ID, new key) authenticates
// the client, and its token is bound to the new certificate only.
func TestMTLSRotatedCertificateGetsNewBinding(t *testing.T) {
	m := newMTLSEnv(t)
	old, renewed := svidCert(t, m.ca, ordersID), svidCert(t, m.ca, ordersID)
	_, out := tokenRequest(t, httpsClient(m.mtls, old), m.mtls.URL, clientCredentialsForm("orders"))
	first := m.boundClaims(t, out["access_token"])
	status, out := tokenRequest(t, httpsClient(m.mtls, renewed), m.mtls.URL, clientCredentialsForm("orders"))
	if status != http.StatusOK {
		t.Fatalf("renewed certificate: %d %v", status, out)
	}
	second := m.boundClaims(t, out["access_token"])
	if !first.BoundToCertificate(old.Leaf.Raw) || !second.BoundToCertificate(renewed.Leaf.Raw) {
		t.Fatal("each token must be bound to the certificate it was issued over")
	}
	if second.BoundToCertificate(old.Leaf.Raw) || first.BoundToCertificate(renewed.Leaf.Raw) {
		t.Fatal("a token is bound to the other certificate")
	}
}

// Failed certificate authentications count in the client-auth throttle
// like bad secrets: past the free failures, even the right certificate
// waits.
func TestMTLSFailuresAreThrottled(t *testing.T) {
	m := newMTLSEnv(t, func(c *authserver.Config) { c.ClientThrottle = authserver.ThrottleConfig{Free: 2, Base: time.Minute} })
	wrong := svidCert(t, m.ca, paymentsID)
	for range 2 {
		if status, out := tokenRequest(t, httpsClient(m.mtls, wrong), m.mtls.URL, clientCredentialsForm("orders")); out["error"] != "invalid_client" {
			t.Fatalf("wrong certificate: %d %v", status, out)
		}
	}
	resp, err := httpsClient(m.mtls, svidCert(t, m.ca, ordersID)).PostForm(m.mtls.URL+"/oauth2/token", clientCredentialsForm("orders"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after the free failures: %d, want 429 with Retry-After", resp.StatusCode)
	}
}

func TestMTLSDiscovery(t *testing.T) {
	m := newMTLSEnv(t)
	var meta map[string]any
	resp, err := http.Get(m.url + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if meta["tls_client_certificate_bound_access_tokens"] != true {
		t.Error("tls_client_certificate_bound_access_tokens is not true")
	}
	aliases, _ := meta["mtls_endpoint_aliases"].(map[string]any)
	if aliases["token_endpoint"] != m.mtls.URL+"/oauth2/token" || aliases["pushed_authorization_request_endpoint"] != m.mtls.URL+"/oauth2/par" ||
		aliases["introspection_endpoint"] != m.mtls.URL+"/oauth2/introspect" || aliases["userinfo_endpoint"] != m.mtls.URL+"/userinfo" ||
		aliases["revocation_endpoint"] != m.mtls.URL+"/oauth2/revoke" {
		t.Errorf("mtls_endpoint_aliases = %v", aliases)
	}
	methods, _ := json.Marshal(meta["token_endpoint_auth_methods_supported"])
	if !strings.Contains(string(methods), `"tls_client_auth"`) || !strings.Contains(string(methods), `"self_signed_tls_client_auth"`) {
		t.Errorf("token_endpoint_auth_methods_supported = %s", methods)
	}

	// Without an mTLS listener, none of it.
	plain := newEnv(t)
	resp, err = http.Get(plain.url + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	meta = nil
	json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	methods, _ = json.Marshal(meta["token_endpoint_auth_methods_supported"])
	if _, ok := meta["mtls_endpoint_aliases"]; ok || strings.Contains(string(methods), "tls_client_auth") {
		t.Errorf("a server without mTLS advertises it: %v %s", meta["mtls_endpoint_aliases"], methods)
	}
}

// golang.org/x/oauth2 gets a certificate-bound token over mTLS with the
// http.Client in its context and the client id in the parameters.
func TestMTLSWithXOAuth2(t *testing.T) {
	m := newMTLSEnv(t)
	cert := svidCert(t, m.ca, ordersID)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, httpsClient(m.mtls, cert))
	cc := clientcredentials.Config{ClientID: "orders", TokenURL: m.mtls.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := m.boundClaims(t, tok.AccessToken); !c.BoundToCertificate(cert.Leaf.Raw) {
		t.Fatalf("cnf = %+v", c.Confirmation)
	}
}
