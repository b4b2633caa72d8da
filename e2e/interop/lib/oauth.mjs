// oauth.mjs — the requests the checks make besides openid-client's own:
// discovery for one client, a raw form POST and its error's summary, and an
// access token checked with jose as a resource server would.
import * as client from 'openid-client'
import { jwtVerify } from 'jose'
import { issuer, signingAlg } from './env.mjs'

// RFC 9068 §2.2: the claims every JWT access token has.
const AT_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti']

// discover runs OpenID Connect discovery for one client. allowInsecureRequests:
// the test server listens on http://127.0.0.1, and openid-client refuses
// plain http unless told; nothing else is relaxed.
export function discover(clientId, auth, options = {}) {
  return client.discovery(new URL(issuer), clientId, undefined, auth, {
    execute: [client.allowInsecureRequests],
    ...options,
  })
}

// rawCall sends a form POST with plain fetch and returns status, headers
// and the parsed JSON body (null when there is none).
export async function rawCall(url, headers, form) {
  const resp = await fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(form),
  })
  const text = await resp.text()
  let body = null
  try {
    body = text ? JSON.parse(text) : null
  } catch {
    body = { unparsed: text.slice(0, 200) }
  }
  return { status: resp.status, headers: resp.headers, body }
}

// oauthSummary is an error body's code and description (no tokens).
export const oauthSummary = (r) =>
  `HTTP ${r.status} ${r.body?.error ?? '(no error)'}${r.body?.error_description ? `: ${r.body.error_description}` : ''}`

// 8. An access token as a resource server checks it with jose: signature
// from the remote JWKS, issuer, audience, typ at+jwt (RFC 9068 §2.1) and
// the claims of RFC 9068 §2.2. jwks is jose's key set of the discovered
// jwks_uri.
export async function verifyAccessToken(jwks, token, audience) {
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer, audience, typ: 'at+jwt', requiredClaims: AT_CLAIMS, algorithms: [signingAlg],
  })
  return { payload, protectedHeader }
}
