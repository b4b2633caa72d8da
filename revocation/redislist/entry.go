package redislist

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/revocation"
)

// The Redis form of an entry: the hash field "kind:value" and the hash
// value "issuedBeforeMs untilMs"; messages carry "issuedBeforeMs untilMs
// kind:value".

func field(e revocation.Entry) string { return string(e.Kind) + ":" + e.Value }

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

var errMalformed = errors.New("redislist: malformed entry in redis")

func parseField(field string) (revocation.Entry, error) {
	kind, value, ok := strings.Cut(field, ":")
	e := revocation.Entry{Kind: revocation.Kind(kind), Value: value}
	if !ok || value == "" {
		return revocation.Entry{}, errMalformed
	}
	return e, nil
}

// parseStored parses a hash field and its value.
func parseStored(field, value string) (revocation.Entry, error) {
	e, err := parseField(field)
	if err != nil {
		return revocation.Entry{}, err
	}
	ib, until, ok := strings.Cut(value, " ")
	if !ok {
		return revocation.Entry{}, errMalformed
	}
	a, err1 := strconv.ParseInt(ib, 10, 64)
	b, err2 := strconv.ParseInt(until, 10, 64)
	if err1 != nil || err2 != nil {
		return revocation.Entry{}, errMalformed
	}
	e.IssuedBefore, e.Until = fromMS(a), fromMS(b)
	if e.Validate() != nil {
		return revocation.Entry{}, errMalformed
	}
	return e, nil
}

// parseMessage parses a published entry.
func parseMessage(payload string) (revocation.Entry, error) {
	parts := strings.SplitN(payload, " ", 3)
	if len(parts) != 3 {
		return revocation.Entry{}, errMalformed
	}
	return parseStored(parts[2], parts[0]+" "+parts[1])
}
