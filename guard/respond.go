package guard

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehousehq/gatehouse/internal/problem"
	"github.com/gatehousehq/gatehouse/token"
)

// refuse logs the refusal, sets the challenge and lets the error writer
// write the body.
func (g *Guard) refuse(w http.ResponseWriter, r *http.Request, ref *Refusal, p *Principal) {
	route := r.Pattern
	if route == "" {
		route = r.URL.Path
	}
	g.audit(r.Context(), ref, p, route, r.Method, r.RemoteAddr)
	if chs := g.challenges(ref, ref.dpop || g.usedDPoP(r)); len(chs) > 0 {
		w.Header()["Www-Authenticate"] = chs
	}
	if ref.nonce != "" {
		w.Header().Set("DPoP-Nonce", ref.nonce) // RFC 9449 §9
	}
	g.writeError(w, r, ref.Status(), ref)
}

// challenges builds the WWW-Authenticate values of RFC 6750 §3: every 401
// carries one (RFC 9110 §11.6.1); without a token it has no error
// attribute; invalid_request, invalid_token and insufficient_scope carry
// the error code, a description and, for scope, the scopes needed. A guard
// that takes DPoP proofs ([WithDPoP]) answers both challenges (RFC 9449
// §7.1): the error in the one of the scheme the request used, or in the
// DPoP one for a refused proof, which goes first (dpop); the DPoP
// challenge lists the proof algorithms it accepts (algs).
func (g *Guard) challenges(ref *Refusal, dpop bool) []string {
	code := ref.oauthCode()
	if code == "" && ref.Reason != ReasonNoToken {
		return nil
	}
	if g.dpop == nil {
		return []string{g.challenge("Bearer", ref, code, "")}
	}
	bearerCode, dpopCode := code, ""
	if dpop {
		bearerCode, dpopCode = "", code
	}
	b := g.challenge("Bearer", ref, bearerCode, "")
	d := g.challenge("DPoP", ref, dpopCode, g.dpop.algs)
	if dpop {
		return []string{d, b}
	}
	return []string{b, d}
}

// challenge is one challenge of scheme, with the error code when not "",
// and algs (DPoP) when not "".
func (g *Guard) challenge(scheme string, ref *Refusal, code, algs string) string {
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString(` realm="`)
	b.WriteString(g.realm)
	b.WriteByte('"')
	if code != "" {
		b.WriteString(`, error="`)
		b.WriteString(code)
		b.WriteByte('"')
		if ref.Detail != "" {
			b.WriteString(`, error_description="`)
			b.WriteString(quoteSafe(ref.Detail, false))
			b.WriteByte('"')
		}
		if code == string(ReasonInsufficientScope) && ref.Scope != "" {
			b.WriteString(`, scope="`)
			b.WriteString(quoteSafe(ref.Scope, true))
			b.WriteByte('"')
		}
	}
	if algs != "" {
		b.WriteString(`, algs="`)
		b.WriteString(algs)
		b.WriteByte('"')
	}
	return b.String()
}

// quoteSafe keeps the characters RFC 6750 §3 allows in error_description
// (%x20-21 / %x23-5B / %x5D-7E) and in scope (the same, spaces separating
// scope tokens); a double quote becomes a single one, anything else is
// dropped.
func quoteSafe(s string, scope bool) string {
	return strings.Map(func(c rune) rune {
		switch {
		case c == '"':
			if scope {
				return -1
			}
			return '\''
		case c == '\\' || c < 0x20 || c > 0x7e:
			return -1
		}
		return c
	}, s)
}

// problemTypes maps reasons to problem types.
var problemTypes = map[Reason]string{
	ReasonNoToken:           problem.TypeAuthenticationRequired,
	ReasonInvalidRequest:    problem.TypeInvalidRequest,
	ReasonInvalidToken:      problem.TypeInvalidToken,
	ReasonUnavailable:       problem.TypeUnavailable,
	ReasonInsufficientScope: problem.TypeInsufficientScope,
	ReasonForbidden:         problem.TypeForbidden,
	ReasonNotFound:          problem.TypeNotFound,
	ReasonInternal:          problem.TypeInternal,
	ReasonInvalidDPoPProof:  TypeInvalidDPoPProof,
	ReasonUseDPoPNonce:      TypeUseDPoPNonce,
}

// Problem types of the DPoP refusals (RFC 9449 §7.1, §9).
const (
	// TypeInvalidDPoPProof: the DPoP proof is missing or refused (401).
	TypeInvalidDPoPProof = "https://gatehouse.dev/problems/invalid-dpop-proof"
	// TypeUseDPoPNonce: the DPoP proof must carry the nonce of the
	// DPoP-Nonce header of the answer (401).
	TypeUseDPoPNonce = "https://gatehouse.dev/problems/use-dpop-nonce"
)

// writeProblem is the default ErrorWriter: RFC 9457 problem details, with
// the RFC 6750 error code and scope as extension members. A 500 says
// nothing more than its title.
func writeProblem(w http.ResponseWriter, _ *http.Request, status int, ref *Refusal) {
	typ, ok := problemTypes[ref.Reason]
	if !ok {
		typ = problem.TypeForbidden
	}
	p := &problem.Problem{Type: typ, Status: status, Detail: ref.Detail}
	if ref.Reason == ReasonInternal {
		p.Detail = ""
	}
	if code := ref.oauthCode(); code != "" {
		p.Extensions = map[string]any{"error": code}
		if ref.Scope != "" {
			p.Extensions["scope"] = ref.Scope
		}
	}
	problem.Write(w, p)
}

// audit logs one event per refusal: reason, status, route, and for a
// verified caller sub, client and jti. Never the token; nothing of an
// unverified token either (its claims are the sender's word).
func (g *Guard) audit(ctx context.Context, ref *Refusal, p *Principal, route, method, remote string) {
	g.tel.refused(ctx, ref.Reason) // tracing.go
	level := slog.LevelInfo
	if ref.Reason == ReasonInternal || ref.Reason == ReasonUnavailable {
		level = slog.LevelError
	}
	if !g.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String("event", "request_refused"),
		slog.String("reason", string(ref.Reason)),
		slog.Int("status", ref.Status()),
		slog.String("route", route),
		slog.String("method", method),
		slog.String("remote", remote),
	)
	if p != nil {
		attrs = append(attrs, slog.String("sub", p.Subject), slog.String("client", p.ClientID), slog.String("jti", p.TokenID))
	}
	if ref.Detail != "" {
		attrs = append(attrs, slog.String("detail", ref.Detail))
	}
	if ref.Err != nil {
		attrs = append(attrs, slog.String("error", ref.Err.Error()))
		// The cause of "could not be checked" (a JWKS fetch, a revocation
		// backend): what an operator needs to act on a 503.
		var te *token.Error
		if errors.As(ref.Err, &te) && te.Cause() != nil {
			attrs = append(attrs, slog.String("cause", te.Cause().Error()))
		}
	}
	g.log.LogAttrs(ctx, level, "audit", attrs...)
}
