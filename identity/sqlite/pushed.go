package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

// PushRequest implements [identity.PushedRequests].
func (s *Store) PushRequest(ctx context.Context, p *identity.PushedRequest) error {
	if p.Hash == "" || p.ClientID == "" || p.ExpiresAt.IsZero() {
		return errors.New("sqlite: push request: empty hash, client or expiry")
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO pushed_requests (hash, client_id, params, expires_at) VALUES (?, ?, ?, ?)`,
		p.Hash, p.ClientID, p.Params, ms(p.ExpiresAt))
	if err != nil {
		return wrap("push request", err)
	}
	return nil
}

// TakePushedRequest implements [identity.PushedRequests]: one DELETE ...
// RETURNING, so that of two takes one gets the row.
func (s *Store) TakePushedRequest(ctx context.Context, hash, clientID string, now time.Time) (*identity.PushedRequest, error) {
	var p identity.PushedRequest
	err := s.w.QueryRowContext(ctx, `DELETE FROM pushed_requests WHERE hash = ? AND client_id = ? AND expires_at > ?
		RETURNING hash, client_id, params, expires_at`, hash, clientID, ms(stamp(now))).
		Scan(&p.Hash, &p.ClientID, &p.Params, timeField{&p.ExpiresAt})
	if err != nil {
		return nil, wrap("take pushed request", err)
	}
	return &p, nil
}
