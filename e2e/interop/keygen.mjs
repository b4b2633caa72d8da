// keygen.mjs DIR — the client keys of the third-party client test, made the
// way a Node.js client makes them: with jose. For each algorithm it writes
//
//   DIR/<name>.private.jwk  the private JWK (mode 0600), read by clients.mjs
//   DIR/<name>.jwks.json    the public JWKS, the client's jwks_file
//
// for the names below. The public keys carry kid and use, and alg as
// listed: one Ed25519 key is registered three ways — alg "Ed25519" (RFC
// 9864, what jose writes), alg "EdDSA" (RFC 8037, older tools) and no alg
// (RFC 7517 §4.4 makes it optional) — while openid-client signs every
// assertion of an Ed25519 key with alg "Ed25519".
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
  { name: 'ed25519', alg: 'Ed25519', options: {} },
  { name: 'ed25519-eddsa', alg: 'Ed25519', options: {}, publishAlg: 'EdDSA' },
  { name: 'ed25519-noalg', alg: 'Ed25519', options: {}, publishAlg: null },
]

for (const { name, alg, options, publishAlg = alg } of specs) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { ...options, extractable: true })
  const kid = `interop-${name}`
  const pub = { ...(await exportJWK(publicKey)), kid, use: 'sig' }
  if (publishAlg) pub.alg = publishAlg
  const priv = { ...(await exportJWK(privateKey)), kid, alg }
  await writeFile(join(dir, `${name}.jwks.json`), JSON.stringify({ keys: [pub] }) + '\n', { mode: 0o644 })
  await writeFile(join(dir, `${name}.private.jwk`), JSON.stringify(priv) + '\n', { mode: 0o600 })
  console.log(`keygen: ${name} (${alg}, published alg ${publishAlg ?? 'none'}) kid ${kid}`)
}
