// code-flow.mjs — the authorization code flow with PKCE through the login
// form, the ID token it gives, and refresh token rotation and reuse detection.
import { createHash } from 'node:crypto'
import * as client from 'openid-client'
import { decodeProtectedHeader, jwtVerify } from 'jose'
import { app, issuer, signingAlg } from '../lib/env.mjs'
import { assert, check, expectError } from '../lib/harness.mjs'
import { discover } from '../lib/oauth.mjs'
import { login } from '../lib/login.mjs'

// atHash is OpenID Connect Core §3.1.3.6: the left half of the hash of the
// access token, with the hash of the ID token's alg.
function atHash(alg, accessToken) {
  const hash = { ES256: 'sha256', RS256: 'sha256', PS256: 'sha256', ES384: 'sha384', EdDSA: 'sha512', Ed25519: 'sha512' }[alg]
  assert(hash, `no at_hash rule for alg ${alg}`)
  const sum = createHash(hash).update(accessToken).digest()
  return sum.subarray(0, sum.length / 2).toString('base64url')
}

// codeFlowChecks runs the code flow checks; the first sets discovered.app
// (the public client's configuration) and keeps its login in s.first.
export async function codeFlowChecks({ s, discovered }) {
  // 3. Authorization code + PKCE through the login form, and the ID token.
  await check('authorization code + PKCE (login form, state, iss, nonce)', async () => {
    discovered.app = await discover(app.id, client.None())
    // The ID token's signature is checked too, not only its claims (by
    // default openid-client trusts the TLS-protected token response).
    client.enableNonRepudiationChecks(discovered.app)
    const { tokens, nonce } = await login(discovered.app, 'openid profile email orders:read')
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
    const { protectedHeader } = await jwtVerify(tokens.id_token, discovered.jwks, { issuer, audience: app.id, algorithms: [signingAlg] })
    return `alg ${protectedHeader.alg}, kid ${protectedHeader.kid ? 'set' : 'missing'}`
  }, ['authorization code + PKCE (login form, state, iss, nonce)'])

  // 4. Refresh rotation and reuse detection (on the first login's family).
  await check('refresh rotation (a new refresh token each time)', async () => {
    const r0 = s.first.tokens.refresh_token
    const t1 = await client.refreshTokenGrant(discovered.app, r0)
    assert(t1.refresh_token && t1.refresh_token !== r0, 'the first refresh returned no new refresh token')
    assert(t1.access_token !== s.first.tokens.access_token, 'the refresh returned the same access token')
    const t2 = await client.refreshTokenGrant(discovered.app, t1.refresh_token)
    assert(t2.refresh_token && t2.refresh_token !== t1.refresh_token && t2.refresh_token !== r0, 'the second refresh returned no new refresh token')
    s.family = { old: r0, newest: t2.refresh_token }
  }, ['authorization code + PKCE (login form, state, iss, nonce)'])

  await check('refresh reuse detection (old token refused, family dead)', async () => {
    const reused = await expectError(client.refreshTokenGrant(discovered.app, s.family.old), 'invalid_grant')
    const newest = await expectError(client.refreshTokenGrant(discovered.app, s.family.newest), 'invalid_grant')
    return `reused: ${reused}; newest after reuse: ${newest}`
  }, ['refresh rotation (a new refresh token each time)'])
}
