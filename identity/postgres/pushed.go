package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

// PushRequest implements [identity.PushedRequests].
func (s *Store) PushRequest(ctx context.Context, p *identity.PushedRequest) error {
	if p.Hash == "" || p.ClientID == "" || p.ExpiresAt.IsZero() {
		return errors.New("postgres: push request: empty hash, client or expiry")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO pushed_requests (hash, client_id, params, expires_at) VALUES ($1, $2, $3, $4)`,
		p.Hash, p.ClientID, p.Params, ts(p.ExpiresAt))
	if err != nil {
		return wrap("push request", err)
	}
	return nil
}

// TakePushedRequest implements [identity.PushedRequests]: one DELETE ...
// RETURNING, so that of two takes, on one instance or on several, one gets
// the row.
func (s *Store) TakePushedRequest(ctx context.Context, hash, clientID string, now time.Time) (*identity.PushedRequest, error) {
	var p identity.PushedRequest
	err := s.pool.QueryRow(ctx, `DELETE FROM pushed_requests WHERE hash = $1 AND client_id = $2 AND expires_at > $3
		RETURNING hash, client_id, params, expires_at`, hash, clientID, stamp(now)).
		Scan(&p.Hash, &p.ClientID, &p.Params, timeField{&p.ExpiresAt})
	if err != nil {
		return nil, wrap("take pushed request", err)
	}
	return &p, nil
}
