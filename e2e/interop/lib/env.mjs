// env.mjs — the configuration of clients.mjs's checks, from the environment
// variables its header lists; a missing one ends the run with exit code 2.

// env is the value of the environment variable name, which must be set.
const env = (name) => {
  const v = process.env[name]
  if (!v) {
    console.error(`clients.mjs: environment variable ${name} is not set`)
    process.exit(2)
  }
  return v
}

// The server, its clients and the user, as interop_test.go configured them.
export const issuer = env('GH_ISSUER')
export const basic = { id: env('GH_BASIC_ID'), secret: env('GH_BASIC_SECRET') }
export const post = { id: env('GH_POST_ID'), secret: env('GH_POST_SECRET') }
export const raw = { id: env('GH_RAW_ID'), secret: env('GH_RAW_SECRET') }
export const ccAudience = env('GH_CC_AUDIENCE')
export const app = { id: env('GH_APP_ID'), redirect: env('GH_APP_REDIRECT'), loggedOut: env('GH_APP_LOGGED_OUT') }
export const user = { name: env('GH_USER'), password: env('GH_PASSWORD') }
export const exchanger = { id: env('GH_EXCHANGE_ID'), secret: env('GH_EXCHANGE_SECRET'), audience: env('GH_EXCHANGE_AUDIENCE') }
export const keyDir = env('GH_KEY_DIR')
export const signingAlg = env('GH_SIGNING_ALG')
export const parID = env('GH_PAR_ID')
export const mtls = { id: env('GH_MTLS_ID'), dir: env('GH_MTLS_DIR') }
export const gatewayURL = env('GH_GATEWAY_URL')
