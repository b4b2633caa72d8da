// clients.mjs — gatehouse's auth server as openid-client 6 and jose 6 (panva's
// certified, strict libraries) see it. Run by interop_test.go against a
// `gatehouse serve --config` of its own; every check prints one line
// ("ok", "FAIL" or "skip" and its name), and any FAIL or skip exits 1.
// Nothing printed holds a token, a secret or a key: failures show the
// HTTP status and the OAuth error (code and description) only.
//
// Environment (all required):
//   GH_ISSUER                         the issuer URL (http://127.0.0.1:PORT)
//   GH_BASIC_ID, GH_BASIC_SECRET      client_secret_basic; the secret has % & = + : and a space
//   GH_POST_ID, GH_POST_SECRET        client_secret_post
//   GH_RAW_ID, GH_RAW_SECRET          a secret that is not a valid form encoding (%zz, &, =)
//   GH_CC_AUDIENCE                    the audience of the client credentials tokens
//   GH_APP_ID, GH_APP_REDIRECT        the public client of the code flow and its redirect URI
//   GH_APP_LOGGED_OUT                 its post_logout_redirect_uri
//   GH_USER, GH_PASSWORD              the user who logs in
//   GH_EXCHANGE_ID, GH_EXCHANGE_SECRET  the confidential client that exchanges and introspects
//                                     (introspection: true, as it reads the app's refresh tokens)
//                                     (the app's access tokens name it in aud)
//   GH_EXCHANGE_AUDIENCE              the audience it exchanges for
//   GH_KEY_DIR                        where keygen.mjs wrote the private JWKs; the
//                                     private_key_jwt clients are pkjwt-<name>
//   GH_SIGNING_ALG                    the algorithm the server signs tokens with
//   GH_PAR_ID                         the public client that must push its requests (PAR) and
//                                     gets DPoP-bound tokens (the server requires DPoP nonces)
//   GH_MTLS_ID, GH_MTLS_DIR           the tls_client_auth client and the folder of its
//                                     certificate from 'gatehouse ca issue' (svid.crt, svid.key,
//                                     bundle.crt)
//   GH_GATEWAY_URL                    the gateway, with DPoP server nonces, whose route
//                                     /api/reports takes DPoP-bound tokens only
//
// The checks are in checks/, one module per group of them, and run here in
// their order; what they share is in lib/ (env.mjs reads the environment).
import { issuer, signingAlg } from './lib/env.mjs'
import { failures, passed } from './lib/harness.mjs'
import { discoveryChecks } from './checks/discovery.mjs'
import { clientCredentialsChecks } from './checks/client-credentials.mjs'
import { codeFlowChecks } from './checks/code-flow.mjs'
import { userTokenChecks } from './checks/user-tokens.mjs'
import { privateKeyJwtChecks } from './checks/private-key-jwt.mjs'
import { codeAndLogoutChecks } from './checks/code-and-logout.mjs'
import { senderConstrainedChecks } from './checks/sender-constrained.mjs'

console.log(`clients.mjs: ${issuer}, tokens signed with ${signingAlg}`)

// discovered is what discovery gives the checks: openid-client's
// configurations of the clients (basic, post, app, exchange) and jose's
// remote key set of the discovered jwks_uri (jwks).
const discovered = {}
const s = {} // what later checks use: tokens, never printed
const shared = { s, discovered }

await discoveryChecks(shared)
await clientCredentialsChecks(shared)
await codeFlowChecks(shared)
await userTokenChecks(shared)
await privateKeyJwtChecks(shared)
await codeAndLogoutChecks(shared)
await senderConstrainedChecks(shared)

const total = passed.size + failures
console.log(failures === 0 ? `all ${total} checks passed` : `${failures} of ${total} checks failed or were skipped`)
process.exit(failures === 0 ? 0 : 1)
