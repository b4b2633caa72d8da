package ratelimit

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestPolicyValidateRejects(t *testing.T) {
	tests := []struct {
		name  string
		p     Policy
		field string
	}{
		{"name too long", Policy{Name: strings.Repeat("a", 65), ReplenishRate: 1, BurstCapacity: 1}, "name"},
		{"name with quote", Policy{Name: `a"b`, ReplenishRate: 1, BurstCapacity: 1}, "name"},
		{"name with colon", Policy{Name: "route:a", ReplenishRate: 1, BurstCapacity: 1}, "name"},
		{"name with space", Policy{Name: "a b", ReplenishRate: 1, BurstCapacity: 1}, "name"},
		{"name non-ASCII", Policy{Name: "é", ReplenishRate: 1, BurstCapacity: 1}, "name"},
		{"negative burst", Policy{ReplenishRate: 1, BurstCapacity: -1}, "burst_capacity"},
		{"negative requested", Policy{ReplenishRate: 1, BurstCapacity: 1, RequestedTokens: -1}, "requested_tokens"},
		{"deny-all with NaN rate", Policy{ReplenishRate: math.NaN()}, "replenish_rate"},
		{"deny-all with negative rate", Policy{ReplenishRate: -1}, "replenish_rate"},
		{"zero rate", Policy{ReplenishRate: 0, BurstCapacity: 10}, "replenish_rate"},
		{"negative rate", Policy{ReplenishRate: -5, BurstCapacity: 10}, "replenish_rate"},
		{"NaN rate", Policy{ReplenishRate: math.NaN(), BurstCapacity: 10}, "replenish_rate"},
		{"infinite rate", Policy{ReplenishRate: math.Inf(1), BurstCapacity: 10}, "replenish_rate"},
		{"rate above maximum", Policy{ReplenishRate: MaxReplenishRate * 1.01, BurstCapacity: 10}, "replenish_rate"},
		{"requested above burst", Policy{ReplenishRate: 1, BurstCapacity: 5, RequestedTokens: 6}, "requested_tokens"},
		{"fill time too long", Policy{ReplenishRate: 1, BurstCapacity: int(MaxFillTime/time.Second) + 1}, "burst_capacity"},
		{"fill time too long, slow rate", Policy{ReplenishRate: 1e-6, BurstCapacity: 10}, "burst_capacity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("Validate() = %v, want ErrInvalidPolicy", err)
			}
			var pe *PolicyError
			if !errors.As(err, &pe) || pe.Field != tt.field {
				t.Fatalf("Validate() = %v, want a PolicyError on %s", err, tt.field)
			}
			if !strings.HasPrefix(err.Error(), "ratelimit: invalid policy: "+tt.field+" ") {
				t.Errorf("message %q does not start with the field", err)
			}
			if _, err := NewMemory(tt.p); !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("NewMemory accepted it: %v", err)
			}
		})
	}
}

func TestPolicyValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
	}{
		{"spring example", Policy{ReplenishRate: 10, BurstCapacity: 20}},
		{"one per minute", Policy{ReplenishRate: 1, BurstCapacity: 60, RequestedTokens: 60}},
		{"deny all", Policy{BurstCapacity: 0}},
		{"deny all with a rate", Policy{ReplenishRate: 10}},
		{"fractional rate", Policy{ReplenishRate: 0.5, BurstCapacity: 1}},
		{"burst below rate", Policy{ReplenishRate: 10, BurstCapacity: 1}},
		{"maximum rate", Policy{ReplenishRate: MaxReplenishRate, BurstCapacity: 1}},
		{"maximum fill time", Policy{ReplenishRate: 1, BurstCapacity: int(MaxFillTime / time.Second)}},
		{"name", Policy{Name: "orders.v2_read-only", ReplenishRate: 1, BurstCapacity: 1}},
		{"64-byte name", Policy{Name: strings.Repeat("n", 64), ReplenishRate: 1, BurstCapacity: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
		})
	}
}

func TestPolicyParameters(t *testing.T) {
	tests := []struct {
		p                               Policy
		interval, tau, requested, quota int64
	}{
		{Policy{ReplenishRate: 10, BurstCapacity: 20}, 100e6, 2e9, 1, 20},
		{Policy{ReplenishRate: 1, BurstCapacity: 60, RequestedTokens: 60}, 1e9, 60e9, 60, 1},
		{Policy{ReplenishRate: 3, BurstCapacity: 3}, 333333333, 999999999, 1, 3},
		{Policy{ReplenishRate: 0.5, BurstCapacity: 2}, 2e9, 4e9, 1, 2},
		{Policy{ReplenishRate: 1, BurstCapacity: 10, RequestedTokens: 3}, 1e9, 10e9, 3, 3},
		{Policy{BurstCapacity: 0}, 0, 0, 1, 0},
	}
	for _, tt := range tests {
		g, err := tt.p.gcra()
		if err != nil {
			t.Fatalf("%+v: %v", tt.p, err)
		}
		if g.interval != tt.interval || g.tau != tt.tau || g.requested != tt.requested || g.quota != tt.quota {
			t.Errorf("%+v: got %+v, want interval %d tau %d requested %d quota %d", tt.p, g, tt.interval, tt.tau, tt.requested, tt.quota)
		}
	}
}
