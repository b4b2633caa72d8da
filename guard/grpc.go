package guard

import (
	"context"
	"net/http"
	"net/textproto"
	"net/url"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// UnaryServerInterceptor returns the guard as a gRPC unary interceptor:
// the token from the metadata "authorization: Bearer ...", the rule of
// [WithMethods] for the full method name, the principal in the handler's
// context as for HTTP. Refusals are gRPC statuses: Unauthenticated,
// PermissionDenied, NotFound, Unavailable or Internal, with the refusal's
// detail as message.
//
// Rules see the call as the HTTP/2 request it is: method POST, path the
// full method name ("/package.Service/Method"), headers the incoming
// metadata. The request message is not theirs to see; check what depends
// on it (the owner of a record) in the handler.
func (g *Guard) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := g.authorizeCall(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor returns the guard as a gRPC stream interceptor,
// like [Guard.UnaryServerInterceptor]; the stream's Context carries the
// principal.
func (g *Guard) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := g.authorizeCall(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &guardedStream{ServerStream: ss, ctx: ctx})
	}
}

type guardedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *guardedStream) Context() context.Context { return s.ctx }

// authorizeCall checks the token and the rule of method, and returns the
// context for the handler.
func (g *Guard) authorizeCall(ctx context.Context, method string) (context.Context, error) {
	rule, ok := g.methods[method]
	switch {
	case ok && isPublic(rule):
		return ctx, nil
	case !ok && !g.defaultDeny:
		rule = Authenticated()
	}
	md, _ := metadata.FromIncomingContext(ctx)
	r := callRequest(ctx, method, md)
	var p *Principal
	raw, ref := bearerFromMetadata(md)
	if ref == nil {
		p, ref = g.verify(ctx, raw)
	}
	if ref == nil {
		ctx = g.withPrincipal(ctx, raw, p)
		r = r.WithContext(ctx)
		if rule == nil {
			ref = &Refusal{Reason: ReasonForbidden, Detail: "no rule allows this method"}
		} else {
			ref = asRefusal(rule(r, p))
		}
	}
	if ref != nil {
		g.audit(ctx, ref, p, method, r.Method, r.RemoteAddr)
		msg := ref.Detail
		if msg == "" || ref.Reason == ReasonInternal {
			msg = string(ref.Reason)
		}
		return nil, status.Error(ref.Code(), msg)
	}
	return ctx, nil
}

// bearerFromMetadata reads the one "authorization" entry (gRPC sends HTTP/2
// headers lower-case).
func bearerFromMetadata(md metadata.MD) (string, *Refusal) {
	switch vals := md.Get("authorization"); len(vals) {
	case 0:
	case 1:
		if raw, ok, ref := parseAuthorization(vals[0]); ok {
			return raw, ref
		}
	default:
		return "", &Refusal{Reason: ReasonInvalidRequest, Detail: "more than one authorization entry"}
	}
	return "", &Refusal{Reason: ReasonNoToken, Detail: "a bearer token is required"}
}

// callRequest is the HTTP/2 request a gRPC call is, for rules.
func callRequest(ctx context.Context, method string, md metadata.MD) *http.Request {
	h := make(http.Header, len(md))
	for k, vs := range md {
		if len(k) > 0 && k[0] == ':' {
			continue
		}
		h[textproto.CanonicalMIMEHeaderKey(k)] = vs
	}
	r := &http.Request{
		Method:     http.MethodPost,
		URL:        &url.URL{Path: method},
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     h,
		RequestURI: method,
		Pattern:    method,
	}
	if a := md.Get(":authority"); len(a) > 0 {
		r.Host = a[0]
	}
	if pr, ok := peer.FromContext(ctx); ok && pr.Addr != nil {
		r.RemoteAddr = pr.Addr.String()
	}
	return r.WithContext(ctx)
}
