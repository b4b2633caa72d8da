package dpop

import "strings"

// HeaderCached reports whether v remembers the protected header of proof.
func HeaderCached(v *Verifier, proof string) bool {
	hdr, _, _ := strings.Cut(proof, ".")
	_, ok := v.headers.Get(hdr)
	return ok
}

// StrictBase64URL is strictBase64URL, for its fuzz test.
var StrictBase64URL = strictBase64URL
