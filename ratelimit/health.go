package ratelimit

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// Stats are a [Redis] limiter's counters, for metrics and readiness
// checks.
type Stats struct {
	// RoundTrips counts the calls to Redis, share fetches in the
	// background included.
	RoundTrips uint64
	// Local counts the decisions made from a local share, with no round
	// trip (see [WithLocalShares]).
	Local uint64
	// Failures counts the decisions made by the failure mode because Redis
	// could not decide: unreachable, an error answer, or the timeout.
	Failures uint64
	// Failing reports whether the latest call to Redis failed.
	Failing bool
}

// How often a continuing outage is logged.
const outageLogEvery = 10 * time.Second

// health counts failures and logs outages without flooding: the first
// failure, then one line per outageLogEvery while it lasts, then the
// recovery. It holds no state that decisions depend on.
type health struct {
	log    *slog.Logger
	policy string
	mode   FailureMode

	failures atomic.Uint64
	failing  atomic.Bool
	lastLog  atomic.Int64 // unix ns of the latest outage line
}

func (h *health) failed(err error) {
	n := h.failures.Add(1)
	now := time.Now().UnixNano()
	first := !h.failing.Swap(true)
	last := h.lastLog.Load()
	if !first && now-last < int64(outageLogEvery) {
		return
	}
	if !h.lastLog.CompareAndSwap(last, now) {
		return // another goroutine logs this one
	}
	msg := "ratelimit: redis unavailable, failing " + h.mode.String()
	if !first {
		msg = "ratelimit: redis still unavailable, failing " + h.mode.String()
	}
	h.log.Warn(msg, "policy", h.policy, "failures", n, "err", err)
}

func (h *health) succeeded() {
	if h.failing.Load() && h.failing.CompareAndSwap(true, false) {
		h.log.Info("ratelimit: redis available again", "policy", h.policy, "failures", h.failures.Load())
	}
}

func (h *health) stats() Stats {
	return Stats{Failures: h.failures.Load(), Failing: h.failing.Load()}
}
