package gateway

import (
	"context"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// The upstreams of a route: round-robin choice among the healthy ones,
// passive health (consecutive failures) and active health checks.

// upstream is one upstream URL with its health.
type upstream struct {
	url       *url.URL
	fails     atomic.Int32
	downUntil atomic.Int64 // unix nanoseconds; passive health
	down      atomic.Bool  // active health
}

func (u *upstream) healthy(now int64) bool {
	return !u.down.Load() && u.downUntil.Load() <= now
}

// pick chooses the next healthy upstream, round robin. When none is
// healthy it takes the next one anyway: a request is better spent on an
// upstream that may have recovered than refused outright.
func (rt *route) pick() *upstream {
	n := rt.next.Add(1)
	ups := rt.upstreams
	if len(ups) == 1 {
		return ups[0]
	}
	now := time.Now().UnixNano()
	for i := range ups {
		u := ups[(n+uint64(i))%uint64(len(ups))]
		if u.healthy(now) {
			return u
		}
	}
	return ups[n%uint64(len(ups))]
}

// failed counts a failed attempt; after rt.failures in a row the upstream
// is skipped for the cooldown.
func (rt *route) failed(u *upstream) {
	if u == nil || rt.failures <= 0 {
		return
	}
	if u.fails.Add(1) >= int32(rt.failures) {
		u.fails.Store(0)
		u.downUntil.Store(time.Now().Add(rt.cooldown).UnixNano())
		rt.g.log.Warn("upstream skipped after consecutive failures", "route", rt.name, "upstream", u.url.Redacted(), "cooldown", rt.cooldown.String())
	}
}

// startHealthChecks runs the route's active health check until ctx ends.
func (rt *route) startHealthChecks(ctx context.Context, g *Gateway) {
	hc := rt.cfg.HealthCheck
	if hc == nil {
		return
	}
	interval := orDefault(hc.Interval, DefaultHealthInterval)
	timeout := orDefault(hc.Timeout, min(interval, 2*time.Second))
	client := &http.Client{Transport: g.transport, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, u := range rt.upstreams {
		target := u.url.JoinPath(hc.Path).String()
		go func() {
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				rt.probe(ctx, client, u, target)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
}

func (rt *route) probe(ctx context.Context, client *http.Client, u *upstream, target string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return
	}
	req.Header.Set("User-Agent", "gatehouse-gateway-health")
	resp, err := client.Do(req)
	ok := err == nil && resp.StatusCode < 400
	if err == nil {
		resp.Body.Close()
	}
	if ctx.Err() != nil {
		return
	}
	if was := u.down.Swap(!ok); was == ok {
		state := "up"
		if !ok {
			state = "down"
		}
		rt.g.log.Info("upstream health changed", "route", rt.name, "upstream", u.url.Redacted(), "state", state)
	}
}
