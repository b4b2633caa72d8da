// login.mjs — the authorization code flow with PKCE as a browser runs it,
// without one: login() and the reading of the login page's HTML and cookies
// it needs.
import * as client from 'openid-client'
import { app, user } from './env.mjs'
import { CheckFailure, assert } from './harness.mjs'

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
export async function login(cfg, scope, { sendRedirect = true, par = false, dpop } = {}) {
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
