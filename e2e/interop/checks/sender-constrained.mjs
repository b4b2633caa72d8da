// sender-constrained.mjs — the checks of sender-constrained tokens (RFC 9449
// DPoP, with server nonces at the token endpoint and at the gateway; RFC 8705
// mTLS with a 'gatehouse ca' certificate) and of pushed authorization
// requests (RFC 9126).
import { createHash, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import * as client from 'openid-client'
import { SignJWT, calculateJwkThumbprint, decodeJwt, exportJWK, jwtVerify } from 'jose'
import { app, basic, ccAudience, gatewayURL, issuer, mtls, parID, signingAlg } from '../lib/env.mjs'
import { assert, check } from '../lib/harness.mjs'
import { discover, oauthSummary, rawCall, verifyAccessToken } from '../lib/oauth.mjs'
import { login } from '../lib/login.mjs'

// jktOf is the RFC 7638 thumbprint of a key pair's public key, by jose.
const jktOf = async (keyPair) => calculateJwkThumbprint(await exportJWK(keyPair.publicKey))

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

// senderConstrainedChecks runs the DPoP, PAR and mTLS checks; the PAR
// login's DPoP-bound tokens are kept in s.par.
export async function senderConstrainedChecks({ s, discovered }) {
  // 12. Sender-constrained tokens (RFC 9449 DPoP, RFC 8705 mTLS) and pushed
  // authorization requests (RFC 9126).
  await check('client_credentials with DPoP (token_type DPoP, cnf.jkt = the key\'s RFC 7638 thumbprint, server nonce retried)', async () => {
    const keyPair = await client.randomDPoPKeyPair('ES256')
    const t = await client.clientCredentialsGrant(discovered.basic, { audience: ccAudience }, { DPoP: client.getDPoPHandle(discovered.basic, keyPair) })
    assert(t.token_type === 'dpop', `token_type ${t.token_type}, want dpop`)
    const { payload } = await verifyAccessToken(discovered.jwks, t.access_token, ccAudience)
    const jkt = await jktOf(keyPair)
    assert(payload.cnf?.jkt === jkt, `cnf.jkt ${payload.cnf?.jkt}, want ${jkt}`)
    return `cnf.jkt ${jkt}`
  }, ['discovery (OpenID Connect)'])

  await check('DPoP server nonce: a proof without one gets 400 use_dpop_nonce and DPoP-Nonce (RFC 9449 §8)', async () => {
    const { publicKey, privateKey } = await client.randomDPoPKeyPair('ES256')
    const jwk = await exportJWK(publicKey)
    const tokenURL = discovered.basic.serverMetadata().token_endpoint
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
    const { payload } = await jwtVerify(tokens.access_token, discovered.jwks, { issuer, typ: 'at+jwt', algorithms: [signingAlg] })
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
    const dpop = client.getDPoPHandle(discovered.basic, keyPair)
    const t = await client.clientCredentialsGrant(discovered.basic, { audience: ccAudience }, { DPoP: dpop })
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
    const unbound = await client.clientCredentialsGrant(discovered.basic, { audience: ccAudience })
    assert(unbound.token_type === 'bearer', `token_type ${unbound.token_type}, want bearer`)
    const plain = await fetch(url, { headers: { authorization: 'Bearer ' + unbound.access_token } })
    await plain.arrayBuffer()
    assert(plain.status === 401 && /error="invalid_token"/.test(plain.headers.get('www-authenticate') ?? ''), `an unbound token: HTTP ${plain.status}, want 401 invalid_token`)
    return `without a nonce: 401 use_dpop_nonce; openid-client: 401 + retry with the nonce, HTTP 200; DPoP-bound as Bearer: 401; unbound: 401`
  }, ['client_credentials with DPoP (token_type DPoP, cnf.jkt = the key\'s RFC 7638 thumbprint, server nonce retried)'])

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
    const { payload } = await verifyAccessToken(discovered.jwks, t.access_token, ccAudience)
    const thumb = createHash('sha256').update(new X509Certificate(mtlsFiles.cert).raw).digest('base64url')
    assert(payload.cnf?.['x5t#S256'] === thumb, `cnf.x5t#S256 ${payload.cnf?.['x5t#S256']}, want ${thumb}`)
    assert(payload.sub === mtls.id && payload.client_id === mtls.id, `sub ${payload.sub}, client_id ${payload.client_id}`)
    return `token endpoint ${new URL(aliases.token_endpoint).origin}, cnf.x5t#S256 ${thumb}`
  }, ['discovery (OpenID Connect)'])
}
