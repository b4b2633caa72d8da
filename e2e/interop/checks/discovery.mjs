// discovery.mjs — the first checks: OpenID Connect and RFC 8414 discovery,
// which give the later checks their client configurations and key set.
import * as client from 'openid-client'
import { createRemoteJWKSet } from 'jose'
import { basic, issuer, signingAlg } from '../lib/env.mjs'
import { assert, check } from '../lib/harness.mjs'
import { discover } from '../lib/oauth.mjs'

// discoveryChecks runs the discovery checks; the first sets discovered.basic
// (client_secret_basic's configuration) and discovered.jwks.
export async function discoveryChecks({ discovered }) {
  // 1. Discovery, with openid-client's own metadata checks (issuer match,
  // endpoints), for OpenID Connect and RFC 8414.
  await check('discovery (OpenID Connect)', async () => {
    discovered.basic = await discover(basic.id, client.ClientSecretBasic(basic.secret))
    const md = discovered.basic.serverMetadata()
    assert(md.issuer === issuer, `issuer ${md.issuer}, want ${issuer}`)
    for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint', 'introspection_endpoint', 'revocation_endpoint']) {
      assert(typeof md[k] === 'string' && md[k].startsWith(issuer + '/'), `${k} is ${md[k]}`)
    }
    assert(md.supportsPKCE(), 'code_challenge_methods_supported does not list S256')
    const idAlgs = md.id_token_signing_alg_values_supported ?? []
    assert(idAlgs.includes(signingAlg), `id_token_signing_alg_values_supported ${JSON.stringify(idAlgs)} lacks ${signingAlg}`)
    discovered.jwks = createRemoteJWKSet(new URL(md.jwks_uri))
    return `jwks_uri ${new URL(md.jwks_uri).pathname}`
  })
  await check('discovery (RFC 8414)', async () => {
    const cfg = await discover(basic.id, client.ClientSecretBasic(basic.secret), { algorithm: 'oauth2' })
    assert(cfg.serverMetadata().issuer === issuer, `issuer ${cfg.serverMetadata().issuer}, want ${issuer}`)
  })
}
