package demo

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/internal/problem"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// platform is what every sample service gets from its environment: where
// the auth server is, where its keys are, the shared revocation list and a
// logger. In a real deployment each service builds these from its own
// configuration; in the demo they share one process.
type platform struct {
	issuer   string
	tokenURL string
	keys     keys.Source   // the auth server's JWKS (keys.Remote)
	revoker  token.Revoker // the shared revocation list
	log      *slog.Logger
	base     http.RoundTripper    // outbound transport under relay
	tp       trace.TracerProvider // never nil (tracing.go)
}

// guardFor returns the guard of a service that accepts the auth server's
// access tokens for audience, checking the revocation list on every request.
func (p *platform) guardFor(audience string, opts ...guard.Option) (*guard.Guard, error) {
	v, err := token.NewVerifier(p.keys, p.issuer, audience, token.WithRevoker(p.revoker))
	if err != nil {
		return nil, fmt.Errorf("demo: verifier for %s: %w", audience, err)
	}
	g, err := guard.New(v, p.guardOpts(opts...)...)
	if err != nil {
		return nil, fmt.Errorf("demo: guard for %s: %w", audience, err)
	}
	return g, nil
}

// outbound returns an http.Client over t with an overall timeout.
func outbound(t http.RoundTripper) *http.Client {
	return &http.Client{Transport: t, Timeout: 15 * time.Second}
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeProblem answers an RFC 9457 problem.
func writeProblem(w http.ResponseWriter, status int, detail string) {
	problem.Write(w, &problem.Problem{Status: status, Detail: detail})
}

// healthz answers 200 to health checks.
func healthz(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) }

// maxJSONBody bounds the JSON bodies the services read.
const maxJSONBody = 64 << 10

// readJSON decodes the request body (at most maxJSONBody) into v.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("the body must be one JSON object: %w", err)
	}
	return nil
}
