// env.mjs holds the configuration app.mjs's header lists, from the
// environment: a missing variable stops the run before the browser starts.

// need is the value of the environment variable name, which must be set.
function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

// The app, the services and the run, as browser_test.go started them.
export const APP = need("GATEHOUSE_APP_URL");
export const ISSUER = need("GATEHOUSE_ISSUER");
export const ORDERS = need("GATEHOUSE_ORDERS");
export const PASSWORD = need("GATEHOUSE_PASSWORD");
export const OUT = need("GATEHOUSE_OUT");
export const CHROMIUM = process.env.GATEHOUSE_CHROMIUM || "/usr/bin/chromium";
export const GATEWAY = new URL(APP).origin;
