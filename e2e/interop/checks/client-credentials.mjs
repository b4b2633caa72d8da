// client-credentials.mjs — the client credentials checks: client_secret_basic
// and client_secret_post with openid-client, raw Basic credentials, and the
// invalid_client answers with and without Basic.
import * as client from 'openid-client'
import { basic, ccAudience, post, raw } from '../lib/env.mjs'
import { assert, check } from '../lib/harness.mjs'
import { discover, oauthSummary, rawCall } from '../lib/oauth.mjs'

// clientCredentialsChecks runs the client credentials checks; it keeps the
// tokens in s (ccBasic, ccPost, ccRaw) and sets discovered.post.
export async function clientCredentialsChecks({ s, discovered }) {
  // 2. Client credentials.
  await check('client_credentials, client_secret_basic with % & = + : and space in the secret', async () => {
    const t = await client.clientCredentialsGrant(discovered.basic, { audience: ccAudience })
    assert(t.token_type === 'bearer', `token_type ${t.token_type}`)
    s.ccBasic = t.access_token
    return `expires_in ${t.expires_in}`
  }, ['discovery (OpenID Connect)'])

  await check('client_credentials, client_secret_post', async () => {
    discovered.post = await discover(post.id, client.ClientSecretPost(post.secret))
    const t = await client.clientCredentialsGrant(discovered.post, { audience: ccAudience })
    s.ccPost = t.access_token
  }, ['discovery (OpenID Connect)'])

  await check('invalid_client with Basic: 401 and a Basic challenge (RFC 6749 §5.2)', async () => {
    const md = discovered.basic.serverMetadata()
    const authz = 'Basic ' + Buffer.from(`${encodeURIComponent(post.id)}:wrong-secret-0123456789`).toString('base64')
    const r = await rawCall(md.token_endpoint, { authorization: authz }, { grant_type: 'client_credentials' })
    assert(r.status === 401 && r.body?.error === 'invalid_client', `${oauthSummary(r)}, want HTTP 401 invalid_client`)
    const challenge = r.headers.get('www-authenticate')
    assert(challenge && /^\s*basic\b/i.test(challenge), `WWW-Authenticate: ${challenge}, want a Basic challenge`)
  }, ['discovery (OpenID Connect)'])

  await check('client_credentials, raw Basic credentials that are not form-encoded (as Python requests sends)', async () => {
    const md = discovered.basic.serverMetadata()
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
    const md = discovered.basic.serverMetadata()
    const r = await rawCall(md.token_endpoint, {}, { grant_type: 'client_credentials', client_id: post.id, client_secret: 'wrong-secret-0123456789' })
    assert(r.status === 400 || r.status === 401, `HTTP ${r.status}, want 400 or 401`)
    assert(r.body?.error === 'invalid_client', `error ${r.body?.error}, want invalid_client`)
    const challenge = r.headers.get('www-authenticate')
    assert(!challenge || !/^\s*basic\b/i.test(challenge), `WWW-Authenticate: ${challenge} for a client that did not use Basic`)
    assert(r.status !== 401 || challenge, 'HTTP 401 without WWW-Authenticate (RFC 9110 §15.5.2); answer 400 when Basic was not used')
    return `HTTP ${r.status} invalid_client${challenge ? `, WWW-Authenticate: ${challenge}` : ''}`
  }, ['discovery (OpenID Connect)'])
}
