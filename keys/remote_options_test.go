package keys_test

// The URLs and options NewRemote refuses.

import (
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
)

func TestNewRemoteOptions(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opt  keys.RemoteOption
	}{
		{"ftp URL", "ftp://example.com/jwks", nil},
		{"relative URL", "/jwks", nil},
		{"no host", "https:///jwks", nil},
		{"bad URL", "http://[::1", nil},
		{"zero refetch interval", "https://example.com/jwks", keys.WithRefetchInterval(0)},
		{"zero min cache age", "https://example.com/jwks", keys.WithCacheAge(0, time.Minute, time.Hour)},
		{"default below min", "https://example.com/jwks", keys.WithCacheAge(time.Minute, time.Second, time.Hour)},
		{"max below default", "https://example.com/jwks", keys.WithCacheAge(time.Minute, time.Hour, 2*time.Minute)},
		{"zero fetch timeout", "https://example.com/jwks", keys.WithFetchTimeout(0)},
		{"zero max response", "https://example.com/jwks", keys.WithMaxResponseBytes(0)},
		{"nil client", "https://example.com/jwks", keys.WithHTTPClient(nil)},
		{"nil clock", "https://example.com/jwks", keys.WithClock(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []keys.RemoteOption
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			if r, err := keys.NewRemote(tt.url, opts...); err == nil {
				t.Errorf("NewRemote succeeded: %v", r.URL())
			}
		})
	}
}
