// user-tokens.mjs — the checks on a user's live tokens: a second login, its
// access token verified with jose, userinfo, token exchange (RFC 8693),
// introspection and revocation.
import * as client from 'openid-client'
import { app, basic, ccAudience, exchanger } from '../lib/env.mjs'
import { assert, check, expectError } from '../lib/harness.mjs'
import { discover, verifyAccessToken } from '../lib/oauth.mjs'
import { login } from '../lib/login.mjs'

// RFC 8693 §3 token type identifiers.
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'

// userTokenChecks runs the checks on the second login's tokens (s.second),
// which end revoked; it sets discovered.exchange (the exchanging client's
// configuration).
export async function userTokenChecks({ s, discovered }) {
  // A second login, whose tokens stay live for the checks below.
  await check('second login (tokens for the checks below)', async () => {
    const { tokens } = await login(discovered.app, 'openid profile email orders:read')
    s.second = tokens
  }, ['authorization code + PKCE (login form, state, iss, nonce)'])
  const second = ['second login (tokens for the checks below)']

  // 8. Access tokens verified with jose against the remote JWKS.
  await check('jose jwtVerify: client credentials access token (issuer, audience, typ at+jwt)', async () => {
    const { payload, protectedHeader } = await verifyAccessToken(discovered.jwks, s.ccBasic, ccAudience)
    assert(payload.client_id === basic.id && payload.sub === basic.id, `client_id ${payload.client_id}, sub ${payload.sub}, want ${basic.id}`)
    return `alg ${protectedHeader.alg}`
  }, ['client_credentials, client_secret_basic with % & = + : and space in the secret'])

  await check("jose jwtVerify: a user's access token (issuer, audience, typ at+jwt)", async () => {
    const { payload } = await verifyAccessToken(discovered.jwks, s.second.access_token, exchanger.id)
    assert(payload.sub === s.second.claims().sub, 'sub differs from the ID token')
    assert(payload.client_id === app.id, `client_id ${payload.client_id}`)
    s.userSub = payload.sub
  }, second)

  // 9. userinfo, with openid-client (Bearer) and with a lowercase scheme.
  await check('userinfo (openid-client, Bearer)', async () => {
    const info = await client.fetchUserInfo(discovered.app, s.second.access_token, s.second.claims().sub)
    assert(info.email, 'no email for scope email')
  }, second)

  await check('userinfo with a lowercase "bearer" scheme (RFC 9110 §11.1)', async () => {
    const resp = await fetch(discovered.app.serverMetadata().userinfo_endpoint, {
      headers: { authorization: `bearer ${s.second.access_token}`, accept: 'application/json' },
    })
    const body = await resp.json().catch(() => null)
    assert(resp.status === 200, `HTTP ${resp.status} ${body?.error ?? ''}${body?.error_description ? `: ${body.error_description}` : ''}; WWW-Authenticate: ${resp.headers.get('www-authenticate')}`)
    assert(body?.sub === s.second.claims().sub, 'sub differs from the ID token')
  }, second)

  // 6. Token exchange (RFC 8693) by the confidential client the user's token names.
  await check('token exchange (RFC 8693: issued_token_type, act, audience)', async () => {
    discovered.exchange = await discover(exchanger.id, client.ClientSecretBasic(exchanger.secret))
    const t = await client.genericGrantRequest(discovered.exchange, TOKEN_EXCHANGE, {
      subject_token: s.second.access_token,
      subject_token_type: ACCESS_TOKEN_TYPE,
      audience: exchanger.audience,
    })
    assert(t.issued_token_type === ACCESS_TOKEN_TYPE, `issued_token_type ${t.issued_token_type}`)
    assert(t.token_type === 'bearer', `token_type ${t.token_type}`)
    const { payload } = await verifyAccessToken(discovered.jwks, t.access_token, exchanger.audience)
    assert(payload.sub === s.userSub, "sub is not the user's")
    assert(payload.act?.sub === exchanger.id, `act ${JSON.stringify(payload.act)}, want sub ${exchanger.id}`)
    assert(payload.client_id === exchanger.id, `client_id ${payload.client_id}`)
    return `scope "${t.scope ?? ''}"`
  }, [...second, "jose jwtVerify: a user's access token (issuer, audience, typ at+jwt)"])

  // 5. Introspection and revocation.
  await check('introspection: live access and refresh tokens are active', async () => {
    discovered.exchange ??= await discover(exchanger.id, client.ClientSecretBasic(exchanger.secret))
    const at = await client.tokenIntrospection(discovered.exchange, s.second.access_token)
    assert(at.active === true, 'the access token is inactive')
    assert(at.client_id === app.id && at.sub === s.second.claims().sub, `client_id ${at.client_id}, sub differs: ${at.sub !== s.second.claims().sub}`)
    const rt = await client.tokenIntrospection(discovered.exchange, s.second.refresh_token, { token_type_hint: 'refresh_token' })
    assert(rt.active === true, 'the refresh token is inactive')
  }, second)

  // RFC 7662 §2.1: a wrong token_type_hint must not hide a token ("If the
  // server is unable to locate the token using the given hint, it MUST
  // extend its search across all of its supported token types").
  await check('introspection: a wrong token_type_hint still finds the token (RFC 7662 §2.1)', async () => {
    const at = await client.tokenIntrospection(discovered.exchange, s.second.access_token, { token_type_hint: 'refresh_token' })
    assert(at.active === true, 'an access token introspected with token_type_hint=refresh_token is inactive')
    const rt = await client.tokenIntrospection(discovered.exchange, s.second.refresh_token, { token_type_hint: 'access_token' })
    assert(rt.active === true, 'a refresh token introspected with token_type_hint=access_token is inactive')
  }, ['introspection: live access and refresh tokens are active'])

  await check('revocation of an access token (then inactive, refused by userinfo)', async () => {
    await client.tokenRevocation(discovered.app, s.second.access_token, { token_type_hint: 'access_token' })
    const at = await client.tokenIntrospection(discovered.exchange, s.second.access_token)
    assert(at.active === false, 'still active after revocation')
    assert(Object.keys(at).length === 1, `an inactive answer holds more than active: ${Object.keys(at).join(', ')}`)
    const resp = await fetch(discovered.app.serverMetadata().userinfo_endpoint, { headers: { authorization: `Bearer ${s.second.access_token}` } })
    assert(resp.status === 401, `userinfo answered HTTP ${resp.status} for a revoked token`)
  }, ['introspection: live access and refresh tokens are active'])

  await check('revocation of a refresh token (then inactive, refused by the token endpoint)', async () => {
    await client.tokenRevocation(discovered.app, s.second.refresh_token, { token_type_hint: 'refresh_token' })
    const rt = await client.tokenIntrospection(discovered.exchange, s.second.refresh_token, { token_type_hint: 'refresh_token' })
    assert(rt.active === false, 'still active after revocation')
    return await expectError(client.refreshTokenGrant(discovered.app, s.second.refresh_token), 'invalid_grant')
  }, ['introspection: live access and refresh tokens are active'])
}
