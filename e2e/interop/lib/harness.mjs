// harness.mjs — how clients.mjs's checks run and report: check() and its
// tally, assert() and expectError(), and describe(), which puts an error on
// one line without tokens or secrets.
import * as client from 'openid-client'

/** CheckFailure is a check's own finding (as opposed to a library's error). */
export class CheckFailure extends Error {}

// describe turns an error into one line without tokens or secrets: the
// libraries' messages name claims and parameters, never their values, and
// their causes (which may hold claims) are left out.
function describe(e) {
  if (e instanceof CheckFailure) return e.message
  if (e instanceof client.ResponseBodyError) {
    return `HTTP ${e.status} ${e.error}${e.error_description ? `: ${e.error_description}` : ''}`
  }
  if (e instanceof client.WWWAuthenticateChallengeError) {
    const ch = (e.cause ?? []).map((c) => `${c.scheme} ${JSON.stringify(c.parameters)}`).join(', ')
    return `HTTP ${e.status} with WWW-Authenticate challenge(s) ${ch}`
  }
  if (e instanceof client.AuthorizationResponseError) {
    return `authorization response error ${e.error}${e.error_description ? `: ${e.error_description}` : ''}`
  }
  const code = e?.code ? ` [${e.code}]` : ''
  const cause = e?.cause instanceof Error ? ` (cause: ${e.cause.name}: ${e.cause.message})` : ''
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(e)}${code}${cause}`
}

// passed holds the names of the checks that passed; failures counts the
// checks that failed or were skipped.
export const passed = new Set()
export let failures = 0

// check runs one named check and prints its line; a check whose
// prerequisites (needs) did not pass is skipped, and a skip fails the run.
export async function check(name, fn, needs = []) {
  const missing = needs.filter((n) => !passed.has(n))
  if (missing.length > 0) {
    failures++
    console.log(`skip ${name}: needs ${missing.join(', ')}`)
    return
  }
  try {
    const detail = await fn()
    passed.add(name)
    console.log(`ok   ${name}${detail ? ` (${detail})` : ''}`)
  } catch (e) {
    failures++
    console.log(`FAIL ${name}: ${describe(e)}${await challengeBody(e)}`)
  }
}

// challengeBody is the OAuth error of a 401 that openid-client reported as
// a WWW-Authenticate challenge without reading its body.
async function challengeBody(e) {
  if (!(e instanceof client.WWWAuthenticateChallengeError) || !e.response) return ''
  try {
    const b = await e.response.json()
    return `; body: ${b.error}${b.error_description ? `: ${b.error_description}` : ''}`
  } catch {
    return ''
  }
}

// assert fails the check with message unless cond holds.
export function assert(cond, message) {
  if (!cond) throw new CheckFailure(message)
}

// expectError awaits p and returns a summary when it was refused with the
// OAuth error code want.
export async function expectError(p, want) {
  try {
    await p
  } catch (e) {
    if (e instanceof client.ResponseBodyError && e.error === want) return `HTTP ${e.status} ${e.error}`
    throw new CheckFailure(`want error ${want}, got ${describe(e)}`)
  }
  throw new CheckFailure(`want error ${want}, the request succeeded`)
}
