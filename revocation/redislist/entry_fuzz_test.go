package redislist

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/revocation"
)

// FuzzParseMessage feeds what another process (or anyone who can PUBLISH
// on the channel) sends: parsing never panics, and what it accepts is a
// valid entry that survives a round trip.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		"0 1767225600000 jti:abc",
		"1767225600000 1767229200000 sub:alice",
		"1767225600000 1767229200000 client:batch job",
		"", "garbage", "1 2", "a b jti:x", "0 1 bogus:x", "0 0 jti:x", "-1 5 sub:x",
		"0 99999999999999999999 jti:x", "0 1 jti:a\nb",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		e, err := parseMessage(payload)
		if err != nil {
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("accepted an invalid entry %+v: %v", e, err)
		}
		if strings.ContainsAny(e.Value, "\x00\r\n") {
			t.Fatalf("value with a control character accepted: %q", e.Value)
		}
		again, err := parseStored(field(e), formatStored(e))
		if err != nil || again != e {
			t.Fatalf("round trip of %+v: %+v, %v", e, again, err)
		}
	})
}

func formatStored(e revocation.Entry) string {
	return strconv.FormatInt(ms(e.IssuedBefore), 10) + " " + strconv.FormatInt(ms(e.Until), 10)
}
