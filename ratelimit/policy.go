package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Policy is one rate limit, with the semantics of Spring Cloud Gateway's
// RequestRateLimiter (replenishRate, burstCapacity, requestedTokens): every
// key has a bucket that holds up to BurstCapacity tokens, starts full and
// refills at ReplenishRate tokens per second; a request takes
// RequestedTokens tokens or is refused.
//
//	{ReplenishRate: 10, BurstCapacity: 20}                      10 requests/s, bursts of 20
//	{ReplenishRate: 1, BurstCapacity: 60, RequestedTokens: 60}  1 request/minute
//	{BurstCapacity: 0}                                          refuse everything
//
// Unlike Spring's integers, ReplenishRate may be fractional (0.5 is one token
// every 2 s) and BurstCapacity may be below ReplenishRate (rate 10, burst 1
// spaces requests 100 ms apart).
//
// The limiters implement it as GCRA (one timestamp per key) with the
// emission interval 1/ReplenishRate rounded to the nanosecond, which is exact
// for every rate that divides 10⁹ and within 0.05 % for the others.
type Policy struct {
	// Name identifies the policy in the RateLimit-Policy and RateLimit
	// header fields and in Redis keys: 1 to 64 ASCII letters, digits, '.',
	// '_' or '-'. Empty means "default". Give the policies of one gateway
	// distinct names.
	Name string

	// ReplenishRate is the number of tokens added to a bucket per second:
	// the sustained rate. Greater than 0 and at most 1,000,000 (per key);
	// ignored when BurstCapacity is 0.
	ReplenishRate float64

	// BurstCapacity is the most tokens a bucket holds: how many requests
	// may arrive at once. 0 refuses every request.
	BurstCapacity int

	// RequestedTokens is what one request costs. 0 means 1. At most
	// BurstCapacity, or no request could ever pass.
	RequestedTokens int
}

// DefaultPolicyName is the name of a Policy whose Name is empty.
const DefaultPolicyName = "default"

// Limits of a Policy.
const (
	// MaxReplenishRate keeps the emission interval at 1 µs or more, so
	// rounding it to the nanosecond changes the rate by at most 0.05 %.
	MaxReplenishRate = 1e6
	// MaxFillTime bounds BurstCapacity/ReplenishRate, the time an empty
	// bucket takes to fill. The Redis script computes in float64
	// nanoseconds, exact up to 2⁵³ ns (104 days), and needs twice this.
	MaxFillTime = 30 * 24 * time.Hour
	maxNameLen  = 64
)

// ErrInvalidPolicy is wrapped by every error of [Policy.Validate].
var ErrInvalidPolicy = errors.New("ratelimit: invalid policy")

// PolicyError says which field of a Policy is wrong and why. It wraps
// [ErrInvalidPolicy]. Field is the configuration key: name,
// replenish_rate, burst_capacity or requested_tokens.
type PolicyError struct {
	Field  string
	Reason string
}

// Error says which field is wrong and why.
func (e *PolicyError) Error() string {
	return "ratelimit: invalid policy: " + e.Field + " " + e.Reason
}

// Unwrap makes errors.Is(err, ErrInvalidPolicy) hold.
func (e *PolicyError) Unwrap() error { return ErrInvalidPolicy }

func policyErr(field, format string, args ...any) error {
	return &PolicyError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Validate reports the first thing wrong with p as a *[PolicyError].
func (p Policy) Validate() error {
	_, err := p.gcra()
	return err
}

// name returns the policy's name, DefaultPolicyName when empty.
func (p Policy) name() string {
	if p.Name == "" {
		return DefaultPolicyName
	}
	return p.Name
}

// requested returns RequestedTokens with its default applied.
func (p Policy) requested() int {
	if p.RequestedTokens == 0 {
		return 1
	}
	return p.RequestedTokens
}

// gcra validates p and derives the GCRA parameters, in the order a reader
// checks them: name, counts, rate, then what they imply together.
func (p Policy) gcra() (gcra, error) {
	if err := checkName(p.Name); err != nil {
		return gcra{}, err
	}
	if p.BurstCapacity < 0 {
		return gcra{}, policyErr("burst_capacity", "must be 0 (refuse all) or more, got %d", p.BurstCapacity)
	}
	if p.RequestedTokens < 0 {
		return gcra{}, policyErr("requested_tokens", "must be 1 or more (0 means 1), got %d", p.RequestedTokens)
	}
	req := p.requested()
	if p.BurstCapacity == 0 {
		// Refuse all. The rate does not matter, but nonsense is still refused.
		if math.IsNaN(p.ReplenishRate) || math.IsInf(p.ReplenishRate, 0) || p.ReplenishRate < 0 {
			return gcra{}, policyErr("replenish_rate", "must be a finite number ≥ 0, got %v", p.ReplenishRate)
		}
		return gcra{requested: int64(req)}, nil
	}
	r := p.ReplenishRate
	if math.IsNaN(r) || math.IsInf(r, 0) || r <= 0 {
		return gcra{}, policyErr("replenish_rate", "must be a finite number > 0 (tokens per second), got %v", r)
	}
	if r > MaxReplenishRate {
		return gcra{}, policyErr("replenish_rate", "must be at most %g tokens per second per key, got %v", float64(MaxReplenishRate), r)
	}
	if req > p.BurstCapacity {
		return gcra{}, policyErr("requested_tokens", "(%d) exceeds burst_capacity (%d): no request could ever pass", req, p.BurstCapacity)
	}
	interval := int64(math.Round(float64(time.Second) / r)) // ≥ 1000 ns by the checks above
	if int64(p.BurstCapacity) > int64(MaxFillTime)/interval {
		return gcra{}, policyErr("burst_capacity", "(%d) / replenish_rate (%v) is longer than %v: the bucket would take too long to fill",
			p.BurstCapacity, r, MaxFillTime)
	}
	return gcra{
		interval:  interval,
		tau:       int64(p.BurstCapacity) * interval,
		requested: int64(req),
		quota:     int64(p.BurstCapacity / req),
	}, nil
}

func checkName(name string) error {
	if name == "" {
		return nil
	}
	if len(name) > maxNameLen {
		return policyErr("name", "is longer than %d bytes", maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return policyErr("name", "%q may hold only ASCII letters, digits, '.', '_' and '-'", name)
		}
	}
	return nil
}
