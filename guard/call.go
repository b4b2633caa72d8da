package guard

import (
	"context"
	"net/http"
)

// AuthorizeCall decides one call that arrives by another transport than
// net/http, such as gRPC (package guard/guardgrpc holds the interceptors).
// r is the call as the HTTP/2 request it is: method POST, path the full
// method name ("/package.Service/Method"), the call's metadata as headers,
// RemoteAddr the peer. The rule is the one [WithMethods] gives the path;
// a method without one requires a valid token, or is refused with
// [WithDefaultDeny].
//
// The token is the one "Authorization: Bearer" header (never a cookie).
// AuthorizeCall returns the context for the handler, which carries the
// principal and the token as [Guard.Middleware] puts them, or the refusal,
// already logged as an audit event. Rules see r, never the call's message:
// check what depends on it (the owner of a record) in the handler.
func (g *Guard) AuthorizeCall(r *http.Request) (context.Context, *Refusal) {
	ctx, method := r.Context(), r.URL.Path
	rule, ok := g.methods[method]
	switch {
	case ok && isPublic(rule):
		return ctx, nil
	case !ok && !g.defaultDeny:
		rule = Authenticated()
	}
	var p *Principal
	raw, s, ref := callBearer(r)
	if ref == nil {
		p, ref = g.verify(ctx, raw)
	}
	if ref == nil {
		ref = g.checkCallBinding(r, s, p.Claims) // binding.go
	}
	if ref == nil {
		ctx = g.withPrincipal(ctx, raw, p)
		r = r.WithContext(ctx)
		if rule == nil {
			ref = &Refusal{Reason: ReasonForbidden, Detail: "no rule allows this method"}
		} else {
			ref = g.evaluate(rule, r, p) // tracing.go
		}
	}
	if ref != nil {
		g.audit(ctx, ref, p, method, r.Method, r.RemoteAddr)
		return nil, ref
	}
	return ctx, nil
}

// callBearer reads the one authorization entry of a call (gRPC sends
// HTTP/2 headers lower-case; r has them canonical), of scheme Bearer or
// DPoP (which checkCallBinding refuses).
func callBearer(r *http.Request) (string, scheme, *Refusal) {
	if raw, s, ok, ref := fromAuthorization(r.Header["Authorization"], "more than one authorization entry"); ok {
		return raw, s, ref
	}
	return "", schemeBearer, &Refusal{Reason: ReasonNoToken, Detail: "a bearer token is required"}
}
