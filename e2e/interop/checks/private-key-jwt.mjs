// private-key-jwt.mjs — the private_key_jwt checks with the keys of
// keygen.mjs, and the signing algorithms discovery lists for them.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as client from 'openid-client'
import { importJWK } from 'jose'
import { ccAudience, keyDir } from '../lib/env.mjs'
import { assert, check } from '../lib/harness.mjs'
import { discover, verifyAccessToken } from '../lib/oauth.mjs'

// privateKeyJwtChecks runs the private_key_jwt checks, one per key.
export async function privateKeyJwtChecks({ discovered }) {
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
      const { payload } = await verifyAccessToken(discovered.jwks, t.access_token, ccAudience)
      assert(payload.client_id === id, `client_id ${payload.client_id}`)
      // A second grant signs a new assertion (new jti): not a replay.
      await client.clientCredentialsGrant(cfg, { audience: ccAudience })
    }, ['discovery (OpenID Connect)'])
  }
  await check('discovery lists the private_key_jwt algorithms used (token_endpoint_auth_signing_alg_values_supported)', async () => {
    const advertised = discovered.basic.serverMetadata().token_endpoint_auth_signing_alg_values_supported ?? []
    const lacking = [...new Set(pkjwt.map(([, alg]) => alg))].filter((alg) => !advertised.includes(alg))
    assert(lacking.length === 0, `${JSON.stringify(advertised)} lacks ${lacking.join(', ')}`)
    return advertised.join(' ')
  }, ['discovery (OpenID Connect)'])

  // RFC 8414 §2: an endpoint whose auth methods list private_key_jwt (or
  // client_secret_jwt) MUST list the signing algorithms it accepts.
  await check('discovery lists the signing algorithms of every endpoint with private_key_jwt (RFC 8414 §2)', async () => {
    const md = discovered.basic.serverMetadata()
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
}
