package keyseal

import "fmt"

// StoredKey is a signing key as a store holds it: its id and its JWK,
// sealed or in clear. The stores hand their rows to [RefuseClearBesideSealed]
// and [Sealer.ResealAll], so that what each engine decides is decided once.
type StoredKey struct {
	ID  string
	JWK []byte
}

// RefuseClearBesideSealed fails when one of the stored keys is sealed: a
// process without the key-encryption secret would add a key in clear
// beside it.
func RefuseClearBesideSealed(keys []StoredKey) error {
	for _, k := range keys {
		if !IsClear(k.JWK) {
			return fmt.Errorf("the store's signing keys are sealed, and a new key would be stored in clear: %w",
				&Error{KeyID: k.ID, Fingerprint: FingerprintOf(k.JWK), Err: ErrNoSecret})
		}
	}
	return nil
}

// ResealAll seals the stored keys under the current secret (with
// clearOnly, only those stored in clear), calling write for each key whose
// stored form changes, and returns their ids. The first key that does not
// open, or a failed write, stops it with that error: the caller runs it in
// one transaction, so that nothing changes then.
func (s *Sealer) ResealAll(keys []StoredKey, clearOnly bool, write func(id string, jwk []byte) error) ([]string, error) {
	var ids []string
	for _, k := range keys {
		if clearOnly && !IsClear(k.JWK) {
			continue
		}
		out, changed, err := s.Reseal(k.ID, k.JWK)
		if err != nil {
			return nil, err
		}
		if !changed {
			continue
		}
		if err := write(k.ID, out); err != nil {
			return nil, err
		}
		ids = append(ids, k.ID)
	}
	return ids, nil
}
