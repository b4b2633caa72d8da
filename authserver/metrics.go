package authserver

import (
	"context"
	"net/http"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/internal/tracing"
)

// tokenBuckets are the bounds (seconds) of the token endpoint histogram:
// a client credentials grant answers in about a millisecond, a password
// grant waits for argon2id (tens of milliseconds) and perhaps its queue.
var tokenBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// knownGrants are the grant label values; anything else is "other", so a
// client cannot grow the label set.
var knownGrants = []string{identity.GrantAuthorizationCode, identity.GrantClientCredentials, identity.GrantRefreshToken,
	identity.GrantPassword, identity.GrantTokenExchange}

func (t *telemetry) initMetrics(mp metric.MeterProvider) error {
	h, err := mp.Meter(tracing.Scope+"/authserver").Float64Histogram("gatehouse.authserver.token_request.duration",
		metric.WithDescription("Latency of the token endpoint, by grant type and outcome (issued, or the RFC 6749 error code)."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(tokenBuckets...))
	if err != nil {
		return err
	}
	t.duration = h
	return nil
}

// tokenOutcome is where the token endpoint notes the error code it
// answered, for observeToken.
type tokenOutcome struct{ code string }

type tokenOutcomeKey struct{}

// noteOutcome records the error code of the token endpoint's answer.
func noteOutcome(ctx context.Context, code string) {
	if o, ok := ctx.Value(tokenOutcomeKey{}).(*tokenOutcome); ok {
		o.code = code
	}
}

// observeToken measures the token endpoint h: its latency by grant_type
// and outcome, in the histogram of metrics.go.
func (s *Server) observeToken(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			h(w, r) // a CORS preflight
			return
		}
		start := time.Now()
		o := &tokenOutcome{}
		r = r.WithContext(context.WithValue(r.Context(), tokenOutcomeKey{}, o))
		h(w, r)
		grant := r.PostForm.Get("grant_type")
		if !slices.Contains(knownGrants, grant) {
			grant = "other"
		}
		outcome := o.code
		if outcome == "" {
			outcome = "issued"
		}
		s.tel.duration.Record(r.Context(), time.Since(start).Seconds(),
			metric.WithAttributes(attribute.String("grant", grant), attribute.String("outcome", outcome)))
	}
}
