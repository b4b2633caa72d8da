package guardgrpc

import (
	"context"
	"net/http"
	"net/textproto"
	"net/url"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/gatehousehq/gatehouse/guard"
)

// UnaryServerInterceptor returns g as a gRPC unary interceptor: the token
// from the metadata "authorization: Bearer ...", the rule of
// guard.WithMethods for the full method name, the principal in the
// handler's context as for HTTP (guard.PrincipalFrom, token.FromContext).
// Refusals are gRPC statuses ([Code]) with the refusal's detail as
// message.
//
// Rules see the call as the HTTP/2 request it is: method POST, path the
// full method name ("/package.Service/Method"), headers the incoming
// metadata. The request message is not theirs to see; check what depends
// on it (the owner of a record) in the handler.
func UnaryServerInterceptor(g *guard.Guard) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := authorize(g, ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor returns g as a gRPC stream interceptor, like
// [UnaryServerInterceptor]; the stream's Context carries the principal.
func StreamServerInterceptor(g *guard.Guard) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := authorize(g, ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &guardedStream{ServerStream: ss, ctx: ctx})
	}
}

// Code is the gRPC status code of a refusal: Unauthenticated for no,
// ambiguous or invalid tokens (a certificate-bound token over a connection
// with another certificate, a DPoP-bound token: RFC 9449 defines no gRPC
// binding), Unavailable when the token could not be checked, NotFound,
// Internal, and PermissionDenied for the rest.
func Code(r *guard.Refusal) codes.Code {
	switch r.Reason {
	case guard.ReasonNoToken, guard.ReasonInvalidToken, guard.ReasonInvalidRequest,
		guard.ReasonInvalidDPoPProof, guard.ReasonUseDPoPNonce:
		return codes.Unauthenticated
	case guard.ReasonUnavailable:
		return codes.Unavailable
	case guard.ReasonNotFound:
		return codes.NotFound
	case guard.ReasonInternal:
		return codes.Internal
	default:
		return codes.PermissionDenied
	}
}

type guardedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *guardedStream) Context() context.Context { return s.ctx }

// authorize checks the call of method and returns the context for the
// handler, or the status of the refusal.
func authorize(g *guard.Guard, ctx context.Context, method string) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	ctx, ref := g.AuthorizeCall(callRequest(ctx, method, md))
	if ref != nil {
		msg := ref.Detail
		if msg == "" || ref.Reason == guard.ReasonInternal {
			msg = string(ref.Reason)
		}
		return nil, status.Error(Code(ref), msg)
	}
	return ctx, nil
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
	if pr, ok := peer.FromContext(ctx); ok {
		if pr.Addr != nil {
			r.RemoteAddr = pr.Addr.String()
		}
		// The peer's TLS state, for certificate-bound tokens (RFC 8705
		// §3): the server's credentials must request client
		// certificates (tls.RequestClientCert or stronger).
		if ti, ok := pr.AuthInfo.(credentials.TLSInfo); ok {
			st := ti.State
			r.TLS = &st
		}
	}
	return r.WithContext(ctx)
}
