package keys

import (
	"context"
	"errors"
	"fmt"
)

// Source finds the key that verifies a token, by the kid of the token's
// header. It is the only way a verifier gets keys: a token never names its own
// key source. Implementations return an error wrapping [ErrKeyNotFound] when
// the kid is not known and [ErrUnavailable] when they could not tell.
type Source interface {
	Key(ctx context.Context, kid string) (*Key, error)
}

// Static is a fixed set of verification keys. It is immutable and safe for
// concurrent use.
type Static struct {
	byID map[string]*Key
	only *Key
}

var _ Source = (*Static)(nil)

// NewStatic returns a source of the given keys. Private parts are dropped;
// HS256 keys keep their secret, which verification needs. When the source
// holds exactly one key, a token without kid selects it.
func NewStatic(ks ...*Key) (*Static, error) {
	if len(ks) == 0 {
		return nil, errors.New("keys: a static source needs at least one key")
	}
	s := &Static{byID: make(map[string]*Key, len(ks))}
	for _, k := range ks {
		if k == nil {
			return nil, errors.New("keys: nil key")
		}
		if _, dup := s.byID[k.id]; dup {
			return nil, fmt.Errorf("keys: kid %q given twice", k.id)
		}
		v := k
		if !k.alg.Symmetric() {
			v = k.PublicKey()
		}
		s.byID[k.id] = v
	}
	if len(ks) == 1 {
		s.only = s.byID[ks[0].id]
	}
	return s, nil
}

// Key returns the key with the given kid.
func (s *Static) Key(_ context.Context, kid string) (*Key, error) {
	if kid == "" && s.only != nil {
		return s.only, nil
	}
	if k, ok := s.byID[kid]; ok {
		return k, nil
	}
	return nil, ErrKeyNotFound
}

// Keys returns the keys of the source.
func (s *Static) Keys() []*Key {
	out := make([]*Key, 0, len(s.byID))
	for _, k := range s.byID {
		out = append(out, k)
	}
	return out
}
