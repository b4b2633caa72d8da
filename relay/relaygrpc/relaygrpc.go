package relaygrpc

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gatehousehq/gatehouse/relay"
)

// UnaryClientInterceptor returns a gRPC client interceptor that sends each
// unary call with the token src picks, as "authorization: Bearer ..."
// metadata (replacing any authorization already in the outgoing metadata).
// A source error is returned as it is, so errors.Is(err, relay.ErrNoToken)
// holds, and no call is made. When src is a relay.Renewer and the server
// answers codes.Unauthenticated, the call is made once more with a fresh
// token.
//
//	conn, err := grpc.NewClient(target, creds,
//		grpc.WithUnaryInterceptor(relaygrpc.UnaryClientInterceptor(src)),
//		grpc.WithStreamInterceptor(relaygrpc.StreamClientInterceptor(src)))
//
// Retries, deadlines and circuit breaking of gRPC calls are gRPC's own:
// its service config, and the context's deadline.
func UnaryClientInterceptor(src relay.Source) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if err := refuseDPoP(src); err != nil {
			return err
		}
		tok, err := src.Token(ctx)
		if err != nil {
			return err
		}
		err = invoker(withBearer(ctx, tok), method, req, reply, cc, opts...)
		if status.Code(err) != codes.Unauthenticated {
			return err
		}
		rn, ok := src.(relay.Renewer)
		if !ok {
			return err
		}
		fresh, rerr := rn.Renew(ctx, tok)
		if rerr != nil {
			return rerr
		}
		if fresh == tok {
			return err
		}
		return invoker(withBearer(ctx, fresh), method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor returns a gRPC client interceptor that opens each
// stream with the token src picks, as UnaryClientInterceptor does for unary
// calls (without the retry on Unauthenticated: a stream cannot be replayed).
func StreamClientInterceptor(src relay.Source) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if err := refuseDPoP(src); err != nil {
			return nil, err
		}
		tok, err := src.Token(ctx)
		if err != nil {
			return nil, err
		}
		return streamer(withBearer(ctx, tok), desc, cc, method, opts...)
	}
}

// ErrDPoP: the source's tokens are DPoP-bound (relay.BoundSource with a
// signer). RFC 9449 defines proofs for HTTP requests, not gRPC calls, so
// such a token cannot be sent on a gRPC call; nothing is sent. Over gRPC,
// use certificate-bound tokens (relay.MTLS), or a source without DPoP.
var ErrDPoP = errors.New("relaygrpc: DPoP-bound tokens cannot be sent on gRPC calls (RFC 9449 proofs are for HTTP requests); use certificate-bound tokens (relay.MTLS)")

func refuseDPoP(src relay.Source) error {
	if b, ok := src.(relay.BoundSource); ok && b.DPoPSigner() != nil {
		return ErrDPoP
	}
	return nil
}

// withBearer returns ctx with the outgoing metadata's authorization
// replaced by tok.
func withBearer(ctx context.Context, tok string) context.Context {
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	md.Set("authorization", "Bearer "+tok)
	return metadata.NewOutgoingContext(ctx, md)
}
