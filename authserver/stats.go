package authserver

import (
	"maps"
	"sync"
)

// Stats are counters of the token endpoint since the server started, for
// metrics (cmd/gatehouse exports them to Prometheus); the package itself
// imports no metrics system.
type Stats struct {
	// Issued counts the token responses by grant_type.
	Issued map[string]uint64
	// Refused counts the error responses by RFC 6749 error code
	// (invalid_client, invalid_grant, ...).
	Refused map[string]uint64
}

// stats are the counters behind [Server.Stats].
type stats struct {
	mu      sync.Mutex
	issue   map[string]uint64
	refusal map[string]uint64
}

func newStats() *stats {
	return &stats{issue: map[string]uint64{}, refusal: map[string]uint64{}}
}

// issued counts a token response for grant (one of the five grant types).
func (s *stats) issued(grant string) {
	s.mu.Lock()
	s.issue[grant]++
	s.mu.Unlock()
}

// refused counts an error response with code (one of RFC 6749's).
func (s *stats) refused(code string) {
	s.mu.Lock()
	s.refusal[code]++
	s.mu.Unlock()
}

// Stats returns a copy of the token endpoint's counters.
func (s *Server) Stats() Stats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	return Stats{Issued: maps.Clone(s.stats.issue), Refused: maps.Clone(s.stats.refusal)}
}
