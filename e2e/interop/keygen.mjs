// keygen.mjs DIR — the client keys of the third-party client test, made the
// way a Node.js client makes them: with jose. For each algorithm it writes
//
//   DIR/<name>.private.jwk  the private JWK (mode 0600), read by clients.mjs
//   DIR/<name>.jwks.json    the public JWKS, the client's jwks_file
//
// for the names es256, rs256 and ed25519. The public keys carry kid and
// use; ES256 and RS256 also alg. The Ed25519 key has no alg member: it
// signs as "Ed25519" (RFC 9864) in openid-client and may be checked as
// "EdDSA" elsewhere, and RFC 7517 §4.4 makes alg optional.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { exportJWK, generateKeyPair } from 'jose'

const dir = process.argv[2]
if (!dir) {
  console.error('usage: node interop/keygen.mjs DIR')
  process.exit(2)
}

const specs = [
  { name: 'es256', alg: 'ES256', options: {} },
  { name: 'rs256', alg: 'RS256', options: { modulusLength: 2048 } },
  { name: 'ed25519', alg: 'Ed25519', options: {}, publishAlg: false },
]

for (const { name, alg, options, publishAlg = true } of specs) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { ...options, extractable: true })
  const kid = `interop-${name}`
  const pub = { ...(await exportJWK(publicKey)), kid, use: 'sig' }
  if (publishAlg) pub.alg = alg
  const priv = { ...(await exportJWK(privateKey)), kid, alg }
  await writeFile(join(dir, `${name}.jwks.json`), JSON.stringify({ keys: [pub] }) + '\n', { mode: 0o644 })
  await writeFile(join(dir, `${name}.private.jwk`), JSON.stringify(priv) + '\n', { mode: 0o600 })
  console.log(`keygen: ${name} (${alg}) kid ${kid}`)
}
