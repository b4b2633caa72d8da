package revocation

import (
	"fmt"
	"strings"
	"time"
)

// Kind says what an Entry matches. The values are those of
// identity.RevocationKind, so entries convert both ways.
type Kind string

// Kinds of entries.
const (
	// Token matches one token by its jti (RFC 7519 §4.1.7).
	Token Kind = "jti"
	// Subject matches every token of a subject (sub) issued at or before
	// IssuedBefore: logout everywhere, a disabled account.
	Subject Kind = "sub"
	// Client matches every token issued to an OAuth client (client_id,
	// RFC 9068 §2.2) at or before IssuedBefore: a compromised client.
	Client Kind = "client"
	// Session matches every token issued in one login session: its sid
	// claim (OpenID Connect Front-Channel Logout 1.0 §3), whenever it was
	// issued. RP-initiated logout ends a session with it.
	Session Kind = "sid"
)

// Entry is one line of the deny list.
type Entry struct {
	Kind  Kind
	Value string
	// IssuedBefore is, for Subject and Client, the time up to which issued
	// tokens are revoked: a token whose iat is not after it, or that has no
	// iat, is revoked. iat has whole seconds, so a token issued in the same
	// second as the revocation, even just after it, is revoked too. Token
	// and Session entries ignore it.
	IssuedBefore time.Time
	// Until is when the entry may be dropped: the revoked token's exp (plus
	// the verifiers' leeway) for Token, and for Subject and Client the
	// moment when every token issued before IssuedBefore has expired
	// (IssuedBefore plus the longest access token lifetime and the leeway).
	Until time.Time
}

// ByToken returns the entry that revokes the token with jti until exp.
// Verifiers accept a token until its exp plus their leeway (30s by
// default, token.DefaultLeeway): pass the exp with that leeway added, or
// the token is accepted again between exp and exp + leeway.
func ByToken(jti string, exp time.Time) Entry { return Entry{Kind: Token, Value: jti, Until: exp} }

// BySubject returns the entry that revokes every token of sub issued at or
// before before, kept until until.
func BySubject(sub string, before, until time.Time) Entry {
	return Entry{Kind: Subject, Value: sub, IssuedBefore: before, Until: until}
}

// ByClient returns the entry that revokes every token issued to the client
// id at or before before, kept until until.
func ByClient(id string, before, until time.Time) Entry {
	return Entry{Kind: Client, Value: id, IssuedBefore: before, Until: until}
}

// BySession returns the entry that revokes every token of the login
// session sid, kept until until (the moment the last token the session
// could have been issued has expired).
func BySession(sid string, until time.Time) Entry {
	return Entry{Kind: Session, Value: sid, Until: until}
}

// MaxValueLen bounds an entry's value.
const MaxValueLen = 1024

// Validate reports what is wrong with e, as an *EntryError.
func (e Entry) Validate() error {
	switch {
	case e.Kind != Token && e.Kind != Subject && e.Kind != Client && e.Kind != Session:
		return &EntryError{Field: "Kind", Reason: fmt.Sprintf("%q is not jti, sub, client or sid", e.Kind)}
	case e.Value == "":
		return &EntryError{Field: "Value", Reason: "empty"}
	case len(e.Value) > MaxValueLen:
		return &EntryError{Field: "Value", Reason: fmt.Sprintf("longer than %d bytes", MaxValueLen)}
	case strings.ContainsAny(e.Value, "\x00\r\n"):
		return &EntryError{Field: "Value", Reason: "has a NUL or a line break"}
	case e.Until.IsZero():
		return &EntryError{Field: "Until", Reason: "zero: every entry must expire"}
	case (e.Kind == Subject || e.Kind == Client) && e.IssuedBefore.IsZero():
		return &EntryError{Field: "IssuedBefore", Reason: "zero"}
	}
	return nil
}

// EntryError says which field of an Entry is wrong.
type EntryError struct {
	Field  string
	Reason string
}

// Error says which field of the entry is wrong and why.
func (e *EntryError) Error() string { return "revocation: entry " + e.Field + ": " + e.Reason }

// merge returns e with the later IssuedBefore and the later Until of e and
// o, which have the same Kind and Value.
func (e Entry) merge(o Entry) Entry {
	if o.IssuedBefore.After(e.IssuedBefore) {
		e.IssuedBefore = o.IssuedBefore
	}
	if o.Until.After(e.Until) {
		e.Until = o.Until
	}
	return e
}
