package demo

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// DefaultPortBase is the port of the auth server; every other port is a
// fixed offset from it (see [PortsFor]).
const DefaultPortBase = 9000

// Ports are the TCP ports of the demo, all on 127.0.0.1. 0 means a random
// free port.
type Ports struct {
	Auth, Gateway, GatewayAdmin int
	// AuthMTLS is the auth server's mutual-TLS listener (RFC 8705:
	// tls_client_auth and certificate-bound tokens), over HTTPS.
	AuthMTLS                                                   int
	Accounts, Admin, Users, Profiles, Orders, Payments, Legacy int
	// App is the static file server of the browser app, which the
	// gateway serves at /app/.
	App int
}

// PortsFor returns the ports for base: auth = base, its mutual-TLS
// listener = base+1, gateway = base-920,
// gateway admin = base-921, accounts..legacy = base+101..base+107, the
// browser app's file server = base+108. Base 0 gives all zeros (random free
// ports).
func PortsFor(base int) (Ports, error) {
	if base == 0 {
		return Ports{}, nil
	}
	if base-921 < 1 || base+108 > 65535 {
		return Ports{}, fmt.Errorf("demo: --port-base %d: the ports base-921 to base+108 must lie within 1..65535 (use 922..65427, or 0 for random ports)", base)
	}
	return Ports{
		Auth: base, AuthMTLS: base + 1, Gateway: base - 920, GatewayAdmin: base - 921,
		Accounts: base + 101, Admin: base + 102, Users: base + 103, Profiles: base + 104,
		Orders: base + 105, Payments: base + 106, Legacy: base + 107, App: base + 108,
	}, nil
}

// ErrPortInUse is wrapped by the error of [Start] when a port cannot be
// bound.
var ErrPortInUse = errors.New("port in use")

// listen binds 127.0.0.1:port for the component name; the error names the
// port and the flag that moves it.
func listen(name string, port int) (net.Listener, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo: %s cannot listen on %s (%w: %v); stop what uses port %d or move every demo port with --port-base", name, addr, ErrPortInUse, err, port)
	}
	return l, nil
}

// portOf returns the port a listener is bound to.
func portOf(l net.Listener) int { return l.Addr().(*net.TCPAddr).Port }
