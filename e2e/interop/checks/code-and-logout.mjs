// code-and-logout.mjs — the rules of the authorization code (used once,
// redirect_uri only if the authorization request had one) and RP-initiated
// logout.
import * as client from 'openid-client'
import { app } from '../lib/env.mjs'
import { assert, check, expectError } from '../lib/harness.mjs'
import { oauthSummary, rawCall } from '../lib/oauth.mjs'
import { login } from '../lib/login.mjs'

// codeAndLogoutChecks runs the checks of the code's rules and of logout,
// each with a login of its own.
export async function codeAndLogoutChecks({ discovered }) {
  // RFC 6749 §4.1.2: a code is used once; a second redemption is refused and
  // SHOULD revoke what the first one issued (gatehouse does).
  await check('authorization code used twice (invalid_grant; what it issued is revoked)', async () => {
    const { tokens, replay } = await login(discovered.app, 'openid orders:read')
    const replayed = await expectError(replay(), 'invalid_grant')
    const at = await client.tokenIntrospection(discovered.exchange, tokens.access_token)
    assert(at.active === false, 'the access token of the first redemption is still active')
    await expectError(client.refreshTokenGrant(discovered.app, tokens.refresh_token), 'invalid_grant')
    return replayed
  }, ['authorization code + PKCE (login form, state, iss, nonce)', 'introspection: live access and refresh tokens are active'])

  // RFC 6749 §4.1.3: redirect_uri is required in the token request only if
  // the authorization request had one. openid-client always sends it, so
  // this one is a plain request.
  await check('code flow without redirect_uri (one registered; RFC 6749 §4.1.1, §4.1.3)', async () => {
    const { location, codeVerifier } = await login(discovered.app, 'openid', { sendRedirect: false })
    const code = location.searchParams.get('code')
    assert(code, `the callback has no code (error ${location.searchParams.get('error')})`)
    const r = await rawCall(discovered.app.serverMetadata().token_endpoint, {}, {
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
    const { tokens } = await login(discovered.app, 'openid orders:read')
    const state = client.randomState()
    const logoutURL = client.buildEndSessionUrl(discovered.app, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: app.loggedOut,
      state,
    })
    const resp = await fetch(logoutURL, { redirect: 'manual' })
    assert(resp.status === 302 || resp.status === 303, `GET ${logoutURL.pathname} answered HTTP ${resp.status}, want a redirect`)
    const back = new URL(resp.headers.get('location'), logoutURL)
    assert(`${back.origin}${back.pathname}` === app.loggedOut, `redirected to ${back.origin}${back.pathname}, want ${app.loggedOut}`)
    assert(back.searchParams.get('state') === state, 'state was not returned')
    const at = await client.tokenIntrospection(discovered.exchange, tokens.access_token)
    assert(at.active === false, "the session's access token is still active after logout")
    const refused = await expectError(client.refreshTokenGrant(discovered.app, tokens.refresh_token), 'invalid_grant')
    return `HTTP ${resp.status}; refresh afterwards: ${refused}`
  }, ['authorization code + PKCE (login form, state, iss, nonce)', 'introspection: live access and refresh tokens are active'])
}
