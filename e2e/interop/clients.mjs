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
import { createHash, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import * as client from 'openid-client'
import { SignJWT, calculateJwkThumbprint, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, importJWK, jwtVerify } from 'jose'

const env = (name) => {
  const v = process.env[name]
  if (!v) {
    console.error(`clients.mjs: environment variable ${name} is not set`)
    process.exit(2)
  }
  return v
}

const issuer = env('GH_ISSUER')
const basic = { id: env('GH_BASIC_ID'), secret: env('GH_BASIC_SECRET') }
const post = { id: env('GH_POST_ID'), secret: env('GH_POST_SECRET') }
const raw = { id: env('GH_RAW_ID'), secret: env('GH_RAW_SECRET') }
const ccAudience = env('GH_CC_AUDIENCE')
const app = { id: env('GH_APP_ID'), redirect: env('GH_APP_REDIRECT'), loggedOut: env('GH_APP_LOGGED_OUT') }
const user = { name: env('GH_USER'), password: env('GH_PASSWORD') }
const exchanger = { id: env('GH_EXCHANGE_ID'), secret: env('GH_EXCHANGE_SECRET'), audience: env('GH_EXCHANGE_AUDIENCE') }
const keyDir = env('GH_KEY_DIR')
const signingAlg = env('GH_SIGNING_ALG')
const parID = env('GH_PAR_ID')
const mtls = { id: env('GH_MTLS_ID'), dir: env('GH_MTLS_DIR') }
const gatewayURL = env('GH_GATEWAY_URL')

// RFC 8693 §3 token type identifiers.
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'
// RFC 9068 §2.2: the claims every JWT access token has.
const AT_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti']

/** CheckFailure is a check's own finding (as opposed to a library's error). */
class CheckFailure extends Error {}

// describe turns an error into one line without tokens or secrets: the
// libraries' messages name claims and parameters, never their values, and
// their causes (which may hold claims) are left out.
function describe(e) {
  if (e instanceof CheckFailure) return e.message
  if (e instanceof client.ResponseBodyError) {
    return `HTTP ${e.status} ${e.error}${e.error_description ? `: ${e.error_description}` : ''}`
  }
  if (e instanceof client.WWWAuthenticateChallengeError) {
    const ch = (e.cause ?? []).map((c) => `${c.scheme} ${JSON.stringify(c.parameters)}`).join(', ')
    return `HTTP ${e.status} with WWW-Authenticate challenge(s) ${ch}`
  }
  if (e instanceof client.AuthorizationResponseError) {
    return `authorization response error ${e.error}${e.error_description ? `: ${e.error_description}` : ''}`
  }
  const code = e?.code ? ` [${e.code}]` : ''
  const cause = e?.cause instanceof Error ? ` (cause: ${e.cause.name}: ${e.cause.message})` : ''
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(e)}${code}${cause}`
}

const passed = new Set()
let failures = 0

// check runs one named check and prints its line; a check whose
// prerequisites (needs) did not pass is skipped, and a skip fails the run.
async function check(name, fn, needs = []) {
  const missing = needs.filter((n) => !passed.has(n))
  if (missing.length > 0) {
    failures++
    console.log(`skip ${name}: needs ${missing.join(', ')}`)
    return
  }
  try {
    const detail = await fn()
    passed.add(name)
    console.log(`ok   ${name}${detail ? ` (${detail})` : ''}`)
  } catch (e) {
    failures++
    console.log(`FAIL ${name}: ${describe(e)}${await challengeBody(e)}`)
  }
}

// challengeBody is the OAuth error of a 401 that openid-client reported as
// a WWW-Authenticate challenge without reading its body.
async function challengeBody(e) {
  if (!(e instanceof client.WWWAuthenticateChallengeError) || !e.response) return ''
  try {
    const b = await e.response.json()
    return `; body: ${b.error}${b.error_description ? `: ${b.error_description}` : ''}`
  } catch {
    return ''
  }
}

function assert(cond, message) {
  if (!cond) throw new CheckFailure(message)
}

// expectError awaits p and returns a summary when it was refused with the
// OAuth error code want.
async function expectError(p, want) {
  try {
    await p
  } catch (e) {
    if (e instanceof client.ResponseBodyError && e.error === want) return `HTTP ${e.status} ${e.error}`
    throw new CheckFailure(`want error ${want}, got ${describe(e)}`)
  }
  throw new CheckFailure(`want error ${want}, the request succeeded`)
}

// discover runs OpenID Connect discovery for one client. allowInsecureRequests:
// the test server listens on http://127.0.0.1, and openid-client refuses
// plain http unless told; nothing else is relaxed.
function discover(clientId, auth, options = {}) {
  return client.discovery(new URL(issuer), clientId, undefined, auth, {
    execute: [client.allowInsecureRequests],
    ...options,
  })
}

// rawCall sends a form POST with plain fetch and returns status, headers
// and the parsed JSON body (null when there is none).
async function rawCall(url, headers, form) {
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
const oauthSummary = (r) =>
  `HTTP ${r.status} ${r.body?.error ?? '(no error)'}${r.body?.error_description ? `: ${r.body.error_description}` : ''}`

// unescapeHTML decodes the character references html/template writes.
function unescapeHTML(s) {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
}

function attributes(tag) {
  const out = {}
  for (const m of tag.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*"([^"]*)")?/g)) {
    out[m[1].toLowerCase()] = m[2] === undefined ? '' : unescapeHTML(m[2])
  }
  return out
}

// cookieHeader is what a browser sends to url from the Set-Cookie lines of
// an earlier answer: name=value of each cookie whose Path matches.
function cookieHeader(setCookies, url) {
  const pairs = []
  for (const line of setCookies) {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim())
    const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) || '/'
    if (url.pathname === path || url.pathname.startsWith(path.endsWith('/') ? path : path + '/')) pairs.push(pair)
  }
  return pairs.join('; ')
}

// login runs the authorization code flow with PKCE the way a browser would,
// without one: openid-client builds the authorization URL; the login form
// is fetched, its gatehouse_csrf cookie kept, and the form posted back with
// its hidden fields and the user's credentials; the 303's Location is the
// callback that openid-client then redeems (state, iss, PKCE, nonce and the
// ID token checked by it). With sendRedirect false the authorization
// request has no redirect_uri (the client has one registered) and the code
// is returned unredeemed, with its verifier.
//
// With par the authorization request is pushed first (RFC 9126,
// buildAuthorizationUrlWithPAR) and the browser gets only its request_uri;
// with dpop (a DPoP handle) the push, and so the code, and the code's
// redemption carry DPoP proofs of its key (RFC 9449 §10.1).
async function login(cfg, scope, { sendRedirect = true, par = false, dpop } = {}) {
  const codeVerifier = client.randomPKCECodeVerifier()
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier)
  const state = client.randomState()
  const nonce = client.randomNonce()
  const params = {
    ...(sendRedirect ? { redirect_uri: app.redirect } : {}),
    scope,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  }
  const authURL = par
    ? await client.buildAuthorizationUrlWithPAR(cfg, params, { DPoP: dpop })
    : client.buildAuthorizationUrl(cfg, params)
  const page = await fetch(authURL, { redirect: 'manual' })
  const html = await page.text()
  assert(page.status === 200, `GET ${authURL.pathname} answered HTTP ${page.status}, want the login form (200)`)
  const setCookies = page.headers.getSetCookie()
  assert(setCookies.some((c) => c.startsWith('gatehouse_csrf=')), 'the login form set no gatehouse_csrf cookie')
  const formTag = html.match(/<form\b[^>]*>/i)
  assert(formTag, 'the login page has no form')
  const form = attributes(formTag[0])
  assert((form.method ?? '').toLowerCase() === 'post', `the login form's method is ${form.method}, want post`)
  const action = new URL(form.action || authURL.pathname, authURL)
  const fields = new URLSearchParams()
  for (const m of html.matchAll(/<input\b[^>]*>/gi)) {
    const a = attributes(m[0])
    if (a.type === 'hidden' && a.name) fields.append(a.name, a.value ?? '')
  }
  fields.set('username', user.name)
  fields.set('password', user.password)
  const cookie = cookieHeader(setCookies, action)
  assert(cookie.includes('gatehouse_csrf='), `the gatehouse_csrf cookie's Path does not cover the form's action ${action.pathname}`)
  const posted = await fetch(action, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: fields,
  })
  if (posted.status !== 303) {
    const text = await posted.text()
    const msg = text.match(/<p class="error"[^>]*>([^<]*)</)?.[1] ?? text.match(/<p>([^<]*)</)?.[1] ?? ''
    throw new CheckFailure(`POST ${action.pathname} answered HTTP ${posted.status}, want 303${msg ? `: ${unescapeHTML(msg)}` : ''}`)
  }
  const location = new URL(posted.headers.get('location'), action)
  assert(`${location.origin}${location.pathname}` === app.redirect, `the login redirected to ${location.origin}${location.pathname}, want ${app.redirect}`)
  if (!sendRedirect) return { location, codeVerifier }
  const checks = { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true }
  const tokens = await client.authorizationCodeGrant(cfg, location, checks, undefined, { DPoP: dpop })
  // replay redeems the same code again, as an attacker who read it would.
  const replay = () => client.authorizationCodeGrant(cfg, location, checks)
  return { tokens, nonce, replay }
}

// atHash is OpenID Connect Core §3.1.3.6: the left half of the hash of the
// access token, with the hash of the ID token's alg.
function atHash(alg, accessToken) {
  const hash = { ES256: 'sha256', RS256: 'sha256', PS256: 'sha256', ES384: 'sha384', EdDSA: 'sha512', Ed25519: 'sha512' }[alg]
  assert(hash, `no at_hash rule for alg ${alg}`)
  const sum = createHash(hash).update(accessToken).digest()
  return sum.subarray(0, sum.length / 2).toString('base64url')
}

// ---------------------------------------------------------------------------

console.log(`clients.mjs: ${issuer}, tokens signed with ${signingAlg}`)

let jwks // jose's remote key set of the discovered jwks_uri
let basicCfg, postCfg, appCfg, exchangeCfg
const s = {} // what later checks use: tokens, never printed

// 1. Discovery, with openid-client's own metadata checks (issuer match,
// endpoints), for OpenID Connect and RFC 8414.
await check('discovery (OpenID Connect)', async () => {
  basicCfg = await discover(basic.id, client.ClientSecretBasic(basic.secret))
  const md = basicCfg.serverMetadata()
  assert(md.issuer === issuer, `issuer ${md.issuer}, want ${issuer}`)
  for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint', 'introspection_endpoint', 'revocation_endpoint']) {
    assert(typeof md[k] === 'string' && md[k].startsWith(issuer + '/'), `${k} is ${md[k]}`)
  }
  assert(md.supportsPKCE(), 'code_challenge_methods_supported does not list S256')
  const idAlgs = md.id_token_signing_alg_values_supported ?? []
  assert(idAlgs.includes(signingAlg), `id_token_signing_alg_values_supported ${JSON.stringify(idAlgs)} lacks ${signingAlg}`)
  jwks = createRemoteJWKSet(new URL(md.jwks_uri))
  return `jwks_uri ${new URL(md.jwks_uri).pathname}`
})
await check('discovery (RFC 8414)', async () => {
  const cfg = await discover(basic.id, client.ClientSecretBasic(basic.secret), { algorithm: 'oauth2' })
  assert(cfg.serverMetadata().issuer === issuer, `issuer ${cfg.serverMetadata().issuer}, want ${issuer}`)
})

// 8. An access token as a resource server checks it with jose: signature
// from the remote JWKS, issuer, audience, typ at+jwt (RFC 9068 §2.1) and
// the claims of RFC 9068 §2.2.
async function verifyAccessToken(token, audience) {
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer, audience, typ: 'at+jwt', requiredClaims: AT_CLAIMS, algorithms: [signingAlg],
  })
  return { payload, protectedHeader }
}

// 2. Client credentials.
await check('client_credentials, client_secret_basic with % & = + : and space in the secret', async () => {
  const t = await client.clientCredentialsGrant(basicCfg, { audience: ccAudience })
  assert(t.token_type === 'bearer', `token_type ${t.token_type}`)
  s.ccBasic = t.access_token
  return `expires_in ${t.expires_in}`
}, ['discovery (OpenID Connect)'])

await check('client_credentials, client_secret_post', async () => {
  postCfg = await discover(post.id, client.ClientSecretPost(post.secret))
  const t = await client.clientCredentialsGrant(postCfg, { audience: ccAudience })
  s.ccPost = t.access_token
}, ['discovery (OpenID Connect)'])

await check('invalid_client with Basic: 401 and a Basic challenge (RFC 6749 §5.2)', async () => {
  const md = basicCfg.serverMetadata()
  const authz = 'Basic ' + Buffer.from(`${encodeURIComponent(post.id)}:wrong-secret-0123456789`).toString('base64')
  const r = await rawCall(md.token_endpoint, { authorization: authz }, { grant_type: 'client_credentials' })
  assert(r.status === 401 && r.body?.error === 'invalid_client', `${oauthSummary(r)}, want HTTP 401 invalid_client`)
  const challenge = r.headers.get('www-authenticate')
  assert(challenge && /^\s*basic\b/i.test(challenge), `WWW-Authenticate: ${challenge}, want a Basic challenge`)
}, ['discovery (OpenID Connect)'])

await check('client_credentials, raw Basic credentials that are not form-encoded (as Python requests sends)', async () => {
  const md = basicCfg.serverMetadata()
  const authz = 'Basic ' + Buffer.from(`${raw.id}:${raw.secret}`, 'utf8').toString('base64')
  const r = await rawCall(md.token_endpoint, { authorization: authz }, { grant_type: 'client_credentials', audience: ccAudience })
  assert(r.status === 200, `token endpoint: ${oauthSummary(r)}`)
  assert(typeof r.body?.access_token === 'string', 'no access_token in the answer')
  s.ccRaw = r.body.access_token
}, ['discovery (OpenID Connect)'])

// RFC 6749 §5.2: 401 with a Basic challenge when the client used Basic;
// otherwise 400 or 401, and a 401 needs some challenge (RFC 9110 §15.5.2),
// which openid-client then reports instead of the error body.
await check('invalid_client without Basic carries no Basic challenge (RFC 6749 §5.2)', async () => {
  const md = basicCfg.serverMetadata()
  const r = await rawCall(md.token_endpoint, {}, { grant_type: 'client_credentials', client_id: post.id, client_secret: 'wrong-secret-0123456789' })
  assert(r.status === 400 || r.status === 401, `HTTP ${r.status}, want 400 or 401`)
  assert(r.body?.error === 'invalid_client', `error ${r.body?.error}, want invalid_client`)
  const challenge = r.headers.get('www-authenticate')
  assert(!challenge || !/^\s*basic\b/i.test(challenge), `WWW-Authenticate: ${challenge} for a client that did not use Basic`)
  assert(r.status !== 401 || challenge, 'HTTP 401 without WWW-Authenticate (RFC 9110 §15.5.2); answer 400 when Basic was not used')
  return `HTTP ${r.status} invalid_client${challenge ? `, WWW-Authenticate: ${challenge}` : ''}`
}, ['discovery (OpenID Connect)'])

// 3. Authorization code + PKCE through the login form, and the ID token.
await check('authorization code + PKCE (login form, state, iss, nonce)', async () => {
  appCfg = await discover(app.id, client.None())
  // The ID token's signature is checked too, not only its claims (by
  // default openid-client trusts the TLS-protected token response).
  client.enableNonRepudiationChecks(appCfg)
  const { tokens, nonce } = await login(appCfg, 'openid profile email orders:read')
  assert(tokens.id_token, 'no id_token')
  assert(tokens.refresh_token, 'no refresh_token for a client allowed refresh_token')
  s.first = { tokens, nonce }
  return `scope "${tokens.scope}"`
}, ['discovery (OpenID Connect)'])

await check('ID token (iss, aud, azp, nonce, at_hash, signature)', async () => {
  const { tokens, nonce } = s.first
  const claims = tokens.claims()
  assert(claims.iss === issuer, `iss ${claims.iss}`)
  const aud = [].concat(claims.aud)
  assert(aud.includes(app.id), `aud ${JSON.stringify(aud)} lacks ${app.id}`)
  assert(aud.length === 1 || claims.azp === app.id, `several audiences and azp ${claims.azp}`)
  assert(claims.nonce === nonce, 'nonce differs from the one sent')
  const { alg } = decodeProtectedHeader(tokens.id_token)
  assert(claims.at_hash, 'no at_hash')
  assert(claims.at_hash === atHash(alg, tokens.access_token), `at_hash does not match the access token (alg ${alg})`)
  // jose again, independently of openid-client's non-repudiation check.
  const { protectedHeader } = await jwtVerify(tokens.id_token, jwks, { issuer, audience: app.id, algorithms: [signingAlg] })
  return `alg ${protectedHeader.alg}, kid ${protectedHeader.kid ? 'set' : 'missing'}`
}, ['authorization code + PKCE (login form, state, iss, nonce)'])

// 4. Refresh rotation and reuse detection (on the first login's family).
await check('refresh rotation (a new refresh token each time)', async () => {
  const r0 = s.first.tokens.refresh_token
  const t1 = await client.refreshTokenGrant(appCfg, r0)
  assert(t1.refresh_token && t1.refresh_token !== r0, 'the first refresh returned no new refresh token')
  assert(t1.access_token !== s.first.tokens.access_token, 'the refresh returned the same access token')
  const t2 = await client.refreshTokenGrant(appCfg, t1.refresh_token)
  assert(t2.refresh_token && t2.refresh_token !== t1.refresh_token && t2.refresh_token !== r0, 'the second refresh returned no new refresh token')
  s.family = { old: r0, newest: t2.refresh_token }
}, ['authorization code + PKCE (login form, state, iss, nonce)'])

await check('refresh reuse detection (old token refused, family dead)', async () => {
  const reused = await expectError(client.refreshTokenGrant(appCfg, s.family.old), 'invalid_grant')
  const newest = await expectError(client.refreshTokenGrant(appCfg, s.family.newest), 'invalid_grant')
  return `reused: ${reused}; newest after reuse: ${newest}`
}, ['refresh rotation (a new refresh token each time)'])

// A second login, whose tokens stay live for the checks below.
await check('second login (tokens for the checks below)', async () => {
  const { tokens } = await login(appCfg, 'openid profile email orders:read')
  s.second = tokens
}, ['authorization code + PKCE (login form, state, iss, nonce)'])
const second = ['second login (tokens for the checks below)']

// 8. Access tokens verified with jose against the remote JWKS.
await check('jose jwtVerify: client credentials access token (issuer, audience, typ at+jwt)', async () => {
  const { payload, protectedHeader } = await verifyAccessToken(s.ccBasic, ccAudience)
  assert(payload.client_id === basic.id && payload.sub === basic.id, `client_id ${payload.client_id}, sub ${payload.sub}, want ${basic.id}`)
  return `alg ${protectedHeader.alg}`
}, ['client_credentials, client_secret_basic with % & = + : and space in the secret'])

await check("jose jwtVerify: a user's access token (issuer, audience, typ at+jwt)", async () => {
  const { payload } = await verifyAccessToken(s.second.access_token, exchanger.id)
  assert(payload.sub === s.second.claims().sub, 'sub differs from the ID token')
  assert(payload.client_id === app.id, `client_id ${payload.client_id}`)
  s.userSub = payload.sub
}, second)

// 9. userinfo, with openid-client (Bearer) and with a lowercase scheme.
await check('userinfo (openid-client, Bearer)', async () => {
  const info = await client.fetchUserInfo(appCfg, s.second.access_token, s.second.claims().sub)
  assert(info.email, 'no email for scope email')
}, second)

await check('userinfo with a lowercase "bearer" scheme (RFC 9110 §11.1)', async () => {
  const resp = await fetch(appCfg.serverMetadata().userinfo_endpoint, {
    headers: { authorization: `bearer ${s.second.access_token}`, accept: 'application/json' },
  })
  const body = await resp.json().catch(() => null)
  assert(resp.status === 200, `HTTP ${resp.status} ${body?.error ?? ''}${body?.error_description ? `: ${body.error_description}` : ''}; WWW-Authenticate: ${resp.headers.get('www-authenticate')}`)
  assert(body?.sub === s.second.claims().sub, 'sub differs from the ID token')
}, second)

// 6. Token exchange (RFC 8693) by the confidential client the user's token names.
await check('token exchange (RFC 8693: issued_token_type, act, audience)', async () => {
  exchangeCfg = await discover(exchanger.id, client.ClientSecretBasic(exchanger.secret))
  const t = await client.genericGrantRequest(exchangeCfg, TOKEN_EXCHANGE, {
    subject_token: s.second.access_token,
    subject_token_type: ACCESS_TOKEN_TYPE,
    audience: exchanger.audience,
  })
  assert(t.issued_token_type === ACCESS_TOKEN_TYPE, `issued_token_type ${t.issued_token_type}`)
  assert(t.token_type === 'bearer', `token_type ${t.token_type}`)
  const { payload } = await verifyAccessToken(t.access_token, exchanger.audience)
  assert(payload.sub === s.userSub, "sub is not the user's")
  assert(payload.act?.sub === exchanger.id, `act ${JSON.stringify(payload.act)}, want sub ${exchanger.id}`)
  assert(payload.client_id === exchanger.id, `client_id ${payload.client_id}`)
  return `scope "${t.scope ?? ''}"`
}, [...second, "jose jwtVerify: a user's access token (issuer, audience, typ at+jwt)"])

// 5. Introspection and revocation.
await check('introspection: live access and refresh tokens are active', async () => {
  exchangeCfg ??= await discover(exchanger.id, client.ClientSecretBasic(exchanger.secret))
  const at = await client.tokenIntrospection(exchangeCfg, s.second.access_token)
  assert(at.active === true, 'the access token is inactive')
  assert(at.client_id === app.id && at.sub === s.second.claims().sub, `client_id ${at.client_id}, sub differs: ${at.sub !== s.second.claims().sub}`)
  const rt = await client.tokenIntrospection(exchangeCfg, s.second.refresh_token, { token_type_hint: 'refresh_token' })
  assert(rt.active === true, 'the refresh token is inactive')
}, second)

// RFC 7662 §2.1: a wrong token_type_hint must not hide a token ("If the
// server is unable to locate the token using the given hint, it MUST
// extend its search across all of its supported token types").
await check('introspection: a wrong token_type_hint still finds the token (RFC 7662 §2.1)', async () => {
  const at = await client.tokenIntrospection(exchangeCfg, s.second.access_token, { token_type_hint: 'refresh_token' })
  assert(at.active === true, 'an access token introspected with token_type_hint=refresh_token is inactive')
  const rt = await client.tokenIntrospection(exchangeCfg, s.second.refresh_token, { token_type_hint: 'access_token' })
  assert(rt.active === true, 'a refresh token introspected with token_type_hint=access_token is inactive')
}, ['introspection: live access and refresh tokens are active'])

await check('revocation of an access token (then inactive, refused by userinfo)', async () => {
  await client.tokenRevocation(appCfg, s.second.access_token, { token_type_hint: 'access_token' })
  const at = await client.tokenIntrospection(exchangeCfg, s.second.access_token)
  assert(at.active === false, 'still active after revocation')
  assert(Object.keys(at).length === 1, `an inactive answer holds more than active: ${Object.keys(at).join(', ')}`)
  const resp = await fetch(appCfg.serverMetadata().userinfo_endpoint, { headers: { authorization: `Bearer ${s.second.access_token}` } })
  assert(resp.status === 401, `userinfo answered HTTP ${resp.status} for a revoked token`)
}, ['introspection: live access and refresh tokens are active'])

await check('revocation of a refresh token (then inactive, refused by the token endpoint)', async () => {
  await client.tokenRevocation(appCfg, s.second.refresh_token, { token_type_hint: 'refresh_token' })
  const rt = await client.tokenIntrospection(exchangeCfg, s.second.refresh_token, { token_type_hint: 'refresh_token' })
  assert(rt.active === false, 'still active after revocation')
  return await expectError(client.refreshTokenGrant(appCfg, s.second.refresh_token), 'invalid_grant')
}, ['introspection: live access and refresh tokens are active'])

// 7. private_key_jwt with keys jose made (keygen.mjs). openid-client signs
// with the algorithm of the key: ES256, RS256, and "Ed25519" (RFC 9864's
// fully-specified name) for an Ed25519 key.
const pkjwt = [
  ['es256', 'ES256', ''],
  ['rs256', 'RS256', ''],
  ['ed25519', 'Ed25519', ', JWK alg Ed25519'],
  ['ed25519-eddsa', 'Ed25519', ', JWK alg EdDSA'],
  ['ed25519-noalg', 'Ed25519', ', JWK without alg'],
]
for (const [name, alg, registered] of pkjwt) {
  await check(`private_key_jwt with ${alg}${registered}`, async () => {
    const jwk = JSON.parse(await readFile(join(keyDir, `${name}.private.jwk`), 'utf8'))
    const key = await importJWK(jwk, jwk.alg)
    const id = `pkjwt-${name}`
    const cfg = await discover(id, client.PrivateKeyJwt({ key, kid: jwk.kid }))
    const t = await client.clientCredentialsGrant(cfg, { audience: ccAudience })
    const { payload } = await verifyAccessToken(t.access_token, ccAudience)
    assert(payload.client_id === id, `client_id ${payload.client_id}`)
    // A second grant signs a new assertion (new jti): not a replay.
    await client.clientCredentialsGrant(cfg, { audience: ccAudience })
  }, ['discovery (OpenID Connect)'])
}
await check('discovery lists the private_key_jwt algorithms used (token_endpoint_auth_signing_alg_values_supported)', async () => {
  const advertised = basicCfg.serverMetadata().token_endpoint_auth_signing_alg_values_supported ?? []
  const lacking = [...new Set(pkjwt.map(([, alg]) => alg))].filter((alg) => !advertised.includes(alg))
  assert(lacking.length === 0, `${JSON.stringify(advertised)} lacks ${lacking.join(', ')}`)
  return advertised.join(' ')
}, ['discovery (OpenID Connect)'])

// RFC 8414 §2: an endpoint whose auth methods list private_key_jwt (or
// client_secret_jwt) MUST list the signing algorithms it accepts.
await check('discovery lists the signing algorithms of every endpoint with private_key_jwt (RFC 8414 §2)', async () => {
  const md = basicCfg.serverMetadata()
  const lacking = []
  for (const ep of ['token_endpoint', 'introspection_endpoint', 'revocation_endpoint']) {
    const methods = md[`${ep}_auth_methods_supported`] ?? []
    const algs = md[`${ep}_auth_signing_alg_values_supported`]
    if ((methods.includes('private_key_jwt') || methods.includes('client_secret_jwt')) && !(Array.isArray(algs) && algs.length > 0)) {
      lacking.push(`${ep}_auth_signing_alg_values_supported`)
    }
  }
  assert(lacking.length === 0, `missing: ${lacking.join(', ')}`)
}, ['discovery (OpenID Connect)'])

// RFC 6749 §4.1.2: a code is used once; a second redemption is refused and
// SHOULD revoke what the first one issued (gatehouse does).
await check('authorization code used twice (invalid_grant; what it issued is revoked)', async () => {
  const { tokens, replay } = await login(appCfg, 'openid orders:read')
  const replayed = await expectError(replay(), 'invalid_grant')
  const at = await client.tokenIntrospection(exchangeCfg, tokens.access_token)
  assert(at.active === false, 'the access token of the first redemption is still active')
  await expectError(client.refreshTokenGrant(appCfg, tokens.refresh_token), 'invalid_grant')
  return replayed
}, ['authorization code + PKCE (login form, state, iss, nonce)', 'introspection: live access and refresh tokens are active'])

// RFC 6749 §4.1.3: redirect_uri is required in the token request only if
// the authorization request had one. openid-client always sends it, so
// this one is a plain request.
await check('code flow without redirect_uri (one registered; RFC 6749 §4.1.1, §4.1.3)', async () => {
  const { location, codeVerifier } = await login(appCfg, 'openid', { sendRedirect: false })
  const code = location.searchParams.get('code')
  assert(code, `the callback has no code (error ${location.searchParams.get('error')})`)
  const r = await rawCall(appCfg.serverMetadata().token_endpoint, {}, {
    grant_type: 'authorization_code', code, code_verifier: codeVerifier, client_id: app.id,
  })
  assert(r.status === 200, `token request without redirect_uri: ${oauthSummary(r)}`)
  assert(typeof r.body?.access_token === 'string', 'no access_token in the answer')
}, ['authorization code + PKCE (login form, state, iss, nonce)'])

// OpenID Connect RP-Initiated Logout 1.0 through openid-client's
// buildEndSessionUrl: the browser is sent there (GET), the OP ends the
// session and returns to the registered post_logout_redirect_uri with
// state; the session's tokens are then dead.
await check('RP-initiated logout (end_session_endpoint, id_token_hint, post_logout_redirect_uri, state)', async () => {
  const { tokens } = await login(appCfg, 'openid orders:read')
  const state = client.randomState()
  const logoutURL = client.buildEndSessionUrl(appCfg, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: app.loggedOut,
    state,
  })
  const resp = await fetch(logoutURL, { redirect: 'manual' })
  assert(resp.status === 302 || resp.status === 303, `GET ${logoutURL.pathname} answered HTTP ${resp.status}, want a redirect`)
  const back = new URL(resp.headers.get('location'), logoutURL)
  assert(`${back.origin}${back.pathname}` === app.loggedOut, `redirected to ${back.origin}${back.pathname}, want ${app.loggedOut}`)
  assert(back.searchParams.get('state') === state, 'state was not returned')
  const at = await client.tokenIntrospection(exchangeCfg, tokens.access_token)
  assert(at.active === false, "the session's access token is still active after logout")
  const refused = await expectError(client.refreshTokenGrant(appCfg, tokens.refresh_token), 'invalid_grant')
  return `HTTP ${resp.status}; refresh afterwards: ${refused}`
}, ['authorization code + PKCE (login form, state, iss, nonce)', 'introspection: live access and refresh tokens are active'])

// 12. Sender-constrained tokens (RFC 9449 DPoP, RFC 8705 mTLS) and pushed
// authorization requests (RFC 9126).

// jktOf is the RFC 7638 thumbprint of a key pair's public key, by jose.
const jktOf = async (keyPair) => calculateJwkThumbprint(await exportJWK(keyPair.publicKey))

await check('client_credentials with DPoP (token_type DPoP, cnf.jkt = the key\'s RFC 7638 thumbprint, server nonce retried)', async () => {
  const keyPair = await client.randomDPoPKeyPair('ES256')
  const t = await client.clientCredentialsGrant(basicCfg, { audience: ccAudience }, { DPoP: client.getDPoPHandle(basicCfg, keyPair) })
  assert(t.token_type === 'dpop', `token_type ${t.token_type}, want dpop`)
  const { payload } = await verifyAccessToken(t.access_token, ccAudience)
  const jkt = await jktOf(keyPair)
  assert(payload.cnf?.jkt === jkt, `cnf.jkt ${payload.cnf?.jkt}, want ${jkt}`)
  return `cnf.jkt ${jkt}`
}, ['discovery (OpenID Connect)'])

await check('DPoP server nonce: a proof without one gets 400 use_dpop_nonce and DPoP-Nonce (RFC 9449 §8)', async () => {
  const { publicKey, privateKey } = await client.randomDPoPKeyPair('ES256')
  const jwk = await exportJWK(publicKey)
  const tokenURL = basicCfg.serverMetadata().token_endpoint
  const proof = await new SignJWT({ htm: 'POST', htu: tokenURL, jti: client.randomState() })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
    .setIssuedAt()
    .sign(privateKey)
  const auth = 'Basic ' + Buffer.from(`${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`).toString('base64')
  const r = await rawCall(tokenURL, { authorization: auth, dpop: proof }, { grant_type: 'client_credentials', audience: ccAudience })
  assert(r.status === 400 && r.body?.error === 'use_dpop_nonce', `${oauthSummary(r)}, want HTTP 400 use_dpop_nonce`)
  assert(r.headers.get('dpop-nonce'), 'no DPoP-Nonce header')
  return oauthSummary(r)
}, ['discovery (OpenID Connect)'])

await check('PAR + authorization code + PKCE + DPoP (request_uri, token_type DPoP, cnf.jkt)', async () => {
  const parCfg = await discover(parID, client.None())
  const md = parCfg.serverMetadata()
  assert(md.pushed_authorization_request_endpoint === issuer + '/oauth2/par', `pushed_authorization_request_endpoint ${md.pushed_authorization_request_endpoint}`)
  // require_pushed_authorization_requests: the same request unpushed is refused.
  const plain = client.buildAuthorizationUrl(parCfg, { redirect_uri: app.redirect, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' })
  const refused = await fetch(plain, { redirect: 'manual' })
  await refused.arrayBuffer()
  const loc = refused.headers.get('location') ?? ''
  assert(refused.status === 400 || /error=/.test(loc), `an unpushed request answered HTTP ${refused.status}, want a refusal`)
  const keyPair = await client.randomDPoPKeyPair('ES256')
  const dpop = client.getDPoPHandle(parCfg, keyPair)
  const { tokens } = await login(parCfg, 'openid profile email', { par: true, dpop })
  assert(tokens.token_type === 'dpop', `token_type ${tokens.token_type}, want dpop`)
  const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer, typ: 'at+jwt', algorithms: [signingAlg] })
  const jkt = await jktOf(keyPair)
  assert(payload.cnf?.jkt === jkt, `cnf.jkt ${payload.cnf?.jkt}, want ${jkt}`)
  s.par = { cfg: parCfg, tokens, dpop, sub: payload.sub }
  return `unpushed: HTTP ${refused.status}; cnf.jkt ${jkt}`
}, ['discovery (OpenID Connect)'])

await check('userinfo with DPoP (fetchProtectedResource: Authorization: DPoP and a proof with ath); as Bearer refused', async () => {
  const { cfg, tokens, dpop, sub } = s.par
  const url = new URL(cfg.serverMetadata().userinfo_endpoint)
  const resp = await client.fetchProtectedResource(cfg, tokens.access_token, url, 'GET', undefined, undefined, { DPoP: dpop })
  assert(resp.status === 200, `HTTP ${resp.status}`)
  const info = await resp.json()
  assert(info.sub === sub, 'userinfo sub is not the token\'s')
  const bearer = await fetch(url, { headers: { authorization: 'Bearer ' + tokens.access_token } })
  await bearer.arrayBuffer()
  assert(bearer.status === 401, `as Bearer: HTTP ${bearer.status}, want 401`)
  return `sub matches; as Bearer: HTTP 401, WWW-Authenticate: ${bearer.headers.get('www-authenticate')?.split(',')[0]}`
}, ['PAR + authorization code + PKCE + DPoP (request_uri, token_type DPoP, cnf.jkt)'])

await check('gateway with DPoP server nonces: fetchProtectedResource takes the use_dpop_nonce refusal\'s DPoP-Nonce and retries (RFC 9449 §9)', async () => {
  const keyPair = await client.randomDPoPKeyPair('ES256')
  const dpop = client.getDPoPHandle(basicCfg, keyPair)
  const t = await client.clientCredentialsGrant(basicCfg, { audience: ccAudience }, { DPoP: dpop })
  const url = new URL(gatewayURL + '/api/reports/7')
  // A proof without the gateway's nonce, as a client sends its first one.
  const jwk = await exportJWK(keyPair.publicKey)
  const ath = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(t.access_token))).toString('base64url')
  const proof = await new SignJWT({ htm: 'GET', htu: url.href, jti: client.randomState(), ath })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
    .setIssuedAt()
    .sign(keyPair.privateKey)
  const first = await fetch(url, { headers: { authorization: 'DPoP ' + t.access_token, dpop: proof } })
  await first.arrayBuffer()
  const challenge = first.headers.get('www-authenticate') ?? ''
  assert(first.status === 401 && /error="use_dpop_nonce"/.test(challenge), `without a nonce: HTTP ${first.status}, ${challenge}`)
  assert(first.headers.get('dpop-nonce'), 'no DPoP-Nonce header on the use_dpop_nonce refusal')
  // openid-client with a fresh DPoP handle (it knows no nonce of the
  // gateway yet): the first call is refused with use_dpop_nonce, the
  // handle takes the nonce and the call is retried once with it. Seen
  // through a customFetch that records each attempt's proof.
  const gwCfg = await discover(basic.id, client.ClientSecretBasic(basic.secret))
  const attempts = []
  gwCfg[client.customFetch] = async (u, options) => {
    const r = await fetch(u, options)
    const proof = new Headers(options.headers).get('dpop')
    attempts.push({ status: r.status, nonce: proof ? decodeJwt(proof).nonce : undefined, given: r.headers.get('dpop-nonce') })
    return r
  }
  const resp = await client.fetchProtectedResource(gwCfg, t.access_token, url, 'GET', undefined, undefined, { DPoP: client.getDPoPHandle(gwCfg, keyPair) })
  assert(resp.status === 200, `fetchProtectedResource through the gateway: HTTP ${resp.status}`)
  assert(attempts.length === 2 && attempts[0].status === 401 && attempts[0].nonce === undefined && attempts[0].given &&
    attempts[1].nonce === attempts[0].given, `attempts ${JSON.stringify(attempts.map((a) => ({ status: a.status, nonce: !!a.nonce, given: !!a.given })))}, want a 401 with a nonce, then the retry carrying it`)
  const body = await resp.json()
  assert(body.report === 42 && body.dpop_header === true, `upstream answered ${JSON.stringify(body)}`)
  // The same token as Bearer is refused (a DPoP-bound token is no bearer
  // token, RFC 9449 §7.2), and so is an unbound token: the route takes
  // DPoP-bound tokens only (sender_constraint: dpop).
  const bearer = await fetch(url, { headers: { authorization: 'Bearer ' + t.access_token } })
  await bearer.arrayBuffer()
  assert(bearer.status === 401 && /error="invalid_token"/.test(bearer.headers.get('www-authenticate') ?? ''), `as Bearer: HTTP ${bearer.status}, want 401 invalid_token`)
  const unbound = await client.clientCredentialsGrant(basicCfg, { audience: ccAudience })
  assert(unbound.token_type === 'bearer', `token_type ${unbound.token_type}, want bearer`)
  const plain = await fetch(url, { headers: { authorization: 'Bearer ' + unbound.access_token } })
  await plain.arrayBuffer()
  assert(plain.status === 401 && /error="invalid_token"/.test(plain.headers.get('www-authenticate') ?? ''), `an unbound token: HTTP ${plain.status}, want 401 invalid_token`)
  return `without a nonce: 401 use_dpop_nonce; openid-client: 401 + retry with the nonce, HTTP 200; DPoP-bound as Bearer: 401; unbound: 401`
}, ['client_credentials with DPoP (token_type DPoP, cnf.jkt = the key\'s RFC 7638 thumbprint, server nonce retried)'])

// mtlsFetch is openid-client's customFetch for the mTLS client: node:https
// with the certificate of 'gatehouse ca issue' and the CA as the only root.
// The server's certificate is a SPIFFE SVID: it names the auth server by
// its URI SAN, not by host name.
const mtlsFiles = {}
async function mtlsFetch(url, options) {
  const u = new URL(url)
  const headers = Object.fromEntries(new Headers(options.headers))
  return new Promise((resolve, reject) => {
    const req = httpsRequest(u, {
      method: options.method, headers, cert: mtlsFiles.cert, key: mtlsFiles.key, ca: mtlsFiles.ca,
      checkServerIdentity: (_, cert) => (cert.subjectaltname ?? '').split(', ').includes('URI:spiffe://interop.test/authserver')
        ? undefined : new Error('the mTLS listener is not spiffe://interop.test/authserver'),
    }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        const h = new Headers()
        for (const [k, v] of Object.entries(res.headers)) for (const x of [v].flat()) h.append(k, x)
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode, headers: h }))
      })
    })
    req.on('error', reject)
    req.end(options.body === undefined || options.body === null ? undefined : String(options.body))
  })
}

await check('tls_client_auth with a \'gatehouse ca\' certificate (mtls_endpoint_aliases, no secret, cnf.x5t#S256 = its thumbprint)', async () => {
  mtlsFiles.cert = await readFile(join(mtls.dir, 'svid.crt'))
  mtlsFiles.key = await readFile(join(mtls.dir, 'svid.key'))
  mtlsFiles.ca = await readFile(join(mtls.dir, 'bundle.crt'))
  const cfg = await client.discovery(new URL(issuer), mtls.id, { use_mtls_endpoint_aliases: true }, client.TlsClientAuth(), {
    execute: [client.allowInsecureRequests],
  })
  const aliases = cfg.serverMetadata().mtls_endpoint_aliases ?? {}
  assert(aliases.token_endpoint?.startsWith('https://'), `mtls_endpoint_aliases.token_endpoint ${aliases.token_endpoint}`)
  cfg[client.customFetch] = mtlsFetch
  const t = await client.clientCredentialsGrant(cfg, { audience: ccAudience })
  const { payload } = await verifyAccessToken(t.access_token, ccAudience)
  const thumb = createHash('sha256').update(new X509Certificate(mtlsFiles.cert).raw).digest('base64url')
  assert(payload.cnf?.['x5t#S256'] === thumb, `cnf.x5t#S256 ${payload.cnf?.['x5t#S256']}, want ${thumb}`)
  assert(payload.sub === mtls.id && payload.client_id === mtls.id, `sub ${payload.sub}, client_id ${payload.client_id}`)
  return `token endpoint ${new URL(aliases.token_endpoint).origin}, cnf.x5t#S256 ${thumb}`
}, ['discovery (OpenID Connect)'])

const total = passed.size + failures
console.log(failures === 0 ? `all ${total} checks passed` : `${failures} of ${total} checks failed or were skipped`)
process.exit(failures === 0 ? 0 : 1)
