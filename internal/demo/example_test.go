package demo_test

import (
	"fmt"

	"github.com/gatehousehq/gatehouse/internal/demo"
)

// The default ports: the auth server on the base, the gateway on 8080.
func ExamplePortsFor() {
	p, err := demo.PortsFor(demo.DefaultPortBase)
	if err != nil {
		panic(err)
	}
	fmt.Println("auth", p.Auth, "gateway", p.Gateway, "admin", p.GatewayAdmin, "accounts", p.Accounts, "legacy", p.Legacy, "app", p.App)
	// Output: auth 9000 gateway 8080 admin 8079 accounts 9101 legacy 9107 app 9108
}
