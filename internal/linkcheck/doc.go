// Package linkcheck holds the core of gatehouse to what it links. A service
// that only checks tokens imports guard, token and keys, and must not pay
// for gRPC, CEL or a Redis client, which live in subpackages of their own
// (guard/guardgrpc, guard/guardcel, relay/relaygrpc, revocation/redislist,
// identity/cachedstore). Its tests fail when that stops being true:
//
//   - TestCoreImports: `go list -deps` of the core packages (guard, token,
//     keys, revocation, identity) names none of google.golang.org/grpc,
//     cel-go or go-redis.
//   - TestGuardOnlyBinarySize: the smallest guarded service
//     (testdata/guardonly: guard.New(verifier).Middleware over a
//     token.Verifier on a remote JWKS, keys.NewRemoteFromIssuer), built as
//     `go build` builds it (not stripped, symbols and DWARF kept), is at
//     most [MaxGuardOnlyBytes].
//   - TestReleaseBuildKeepsDeadCodeElimination: the gatehouse binary, linked
//     as deploy/build.sh links it (its -tags) with the linker's dependency
//     dump, reaches no function the linker marks <ReflectMethod> (reflect's
//     Method or MethodByName by a computed name, as template execution
//     does), which would make it keep every exported method of every type:
//     39 MB instead of 52 MB, and fewer pages of it in every process. A
//     failure prints the chain of calls that reaches one. A program that
//     executes a template (testdata/reflectmethod) must show first, so that
//     a change of the dump's format fails the test rather than pass it.
//
// It has no code of its own; `.ci/run` runs its tests with the others.
package linkcheck

// MaxGuardOnlyBytes bounds the guard-only service's binary: 14 MB. It was
// 26.9 MB while guard imported gRPC and CEL and identity imported Redis;
// it is about 13.3 MB on linux/amd64 with go1.26 (otter, for the verified-token cache, is most of the step from 11.5 MB; package dpop
// with go-jose, for DPoP-bound tokens in guard, the step from 12.3 MB).
const MaxGuardOnlyBytes = 14_000_000
