// Package workload gives services identities of their own for mutual TLS —
// the staff badges between restricted areas of an airport — as SPIFFE X.509
// SVIDs: short-lived certificates whose URI SAN names the workload
// ("spiffe://gatehouse.test/orders"), signed by a small built-in CA.
//
// A bearer token says which user a call is for; the peer certificate says
// which service is calling. Both are checked: a service behind mTLS still
// runs its guard, and a stolen token is useless from outside the mesh.
//
// # Pieces
//
//   - [CA]: a certificate authority for one trust domain. [NewCA] makes
//     one (ECDSA P-256), [CA.Save] and [LoadCA] keep it in a folder
//     (ca.crt, and ca.key with mode 0600), [CA.Issue] signs an SVID.
//     `gatehouse ca init` and `gatehouse ca issue` do the same from the
//     command line.
//   - [Identity]: one workload's current SVID, renewed at half its life
//     (from a CA in the process, or by re-reading certificate files that
//     something else renews). It is an x509svid.Source, so it plugs into
//     go-spiffe's tlsconfig, and every new handshake uses the newest
//     certificate: rotation needs no restart.
//   - [ServerConfig] and [ClientConfig]: tls.Configs for mTLS (TLS 1.3)
//     built with github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig, which
//     verifies the peer's chain against the trust bundle and then asks an
//     authorizer ([tlsconfig.AuthorizeID], [tlsconfig.AuthorizeMemberOf],
//     ...) whether that workload may connect.
//   - [PeerID] and [RequirePeer]: the calling workload's ID in an HTTP
//     handler, and a middleware that admits only some of them per route.
//
// # Verification
//
// The certificate parsing, chain verification and SPIFFE ID rules are
// go-spiffe's and the standard library's; this package only issues
// certificates (crypto/x509) and wires the sources. A peer is refused at the
// handshake when it presents no certificate, a certificate of another CA or
// trust domain, an expired one, a CA certificate as leaf, or an ID the
// authorizer does not allow.
package workload
