// session.mjs holds the checks of a user's session in the app: logging in
// through the auth server's form, the DPoP binding of its tokens, revoking
// them, and logging out, after which they are refused everywhere.
import { APP, GATEWAY, ISSUER, ORDERS, PASSWORD } from "./env.mjs";
import { check, shot, shots } from "./harness.mjs";
import { claimsOf, notice, storedUser } from "./page.mjs";
import { keyInfo, proofFromPage, statusWith, statusWithDPoP } from "./dpop.mjs";

// The app's calls to the gateway's API, with their headers.
export const apiCalls = [];

// login goes from the app's login view through the auth server's HTML form
// and back; it returns when the orders are listed.
export async function login(page, user, { fromApp = true } = {}) {
  if (fromApp) {
    await page.goto(APP);
    await page.waitForSelector("#view-login:not([hidden])");
    await page.click("#login");
  }
  await page.waitForURL((u) => u.href.startsWith(ISSUER), { timeout: 15000 });
  await page.waitForSelector("#username");
  await page.fill("#username", user);
  await page.fill("#password", PASSWORD);
  if (shots < 3) await shot(page, "auth-server-login");
  await Promise.all([
    page.waitForURL((u) => u.href === APP, { timeout: 15000 }),
    page.click("button[type=submit]"),
  ]);
  await page.waitForSelector("#view-app:not([hidden])");
  await page.waitForSelector("#orders tbody tr", { state: "attached" }); // the Orders view may be hidden
  check(new URL(page.url()).pathname === new URL(APP).pathname, `${user}: logged in, back at the app`, page.url());
}

// refusedAfterLogout checks that an access token of a session that logged
// out is refused by the gateway and by orders itself (the revocation
// reaches every service within a second or so).
export async function refusedAfterLogout(page, who, accessToken) {
  let gw = 0, svc = 0;
  const deadline = Date.now() + 3000;
  const stash = { db: "gatehouse-test", store: "keys" }; // the app deleted its key at logout
  while (Date.now() < deadline) {
    gw = await statusWithDPoP(page, GATEWAY + "/api/orders", accessToken, stash);
    svc = await statusWithDPoP(page, ORDERS + "/api/orders", accessToken, stash);
    if (gw === 401 && svc === 401) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  check(gw === 401, `${who}'s old access token at the gateway after logout`, `status ${gw}`);
  check(svc === 401, `${who}'s old access token at orders itself after logout`, `status ${svc}`);
}

// revoke revokes a token of the spa client at the auth server, as an
// administrator or another tab's logout would.
export async function revoke(tok, what) {
  const r = await fetch(ISSUER + "/oauth2/revoke", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: "spa", token: tok }),
  });
  check(r.ok, `revoke ${what} at /oauth2/revoke`, `status ${r.status}`);
}

// logout logs who out with the app's button (RP-initiated logout) and checks
// that the app forgot the tokens and the key, and that the tokens are refused.
export async function logout(page, who) {
  const before = await storedUser(page);
  check(before && before.access_token, `${who}: has tokens before logout`);
  await keyInfo(page, { stash: true });
  const still = await statusWithDPoP(page, GATEWAY + "/api/orders", before.access_token);
  check(still === 200, `${who}'s access token works before logout (with a proof of the page's key)`, `status ${still}`);
  await page.click("#logout");
  // To the end_session_endpoint and back to post_logout_redirect_uri.
  await page.waitForURL((u) => u.href.startsWith(APP) && !u.search, { timeout: 15000 });
  await page.waitForSelector("#view-login:not([hidden])");
  const n = await notice(page, "info", /logged out/);
  check(/logged out/i.test(n), `${who}: logged out, the app shows its login view`, n);
  check((await storedUser(page)) === null, `${who}: the app forgot the tokens`);
  check(!(await keyInfo(page)).present, `${who}: and its DPoP key`);
  await refusedAfterLogout(page, who, before.access_token);
  const tokenProof = await proofFromPage(page, "POST", ISSUER + "/oauth2/token", "", { db: "gatehouse-test", store: "keys" });
  const r = await fetch(ISSUER + "/oauth2/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", DPoP: tokenProof },
    body: new URLSearchParams({ grant_type: "refresh_token", client_id: "spa", refresh_token: before.refresh_token }),
  });
  const body = await r.json().catch(() => ({}));
  check(r.status === 400 && body.error === "invalid_grant", `${who}'s refresh token after logout`,
    `status ${r.status} ${body.error || ""}`);
}

// dpopBound checks the DPoP binding of who's session: the token, the key,
// the app's calls, and the token copied out of the page.
export async function dpopBound(page, who) {
  const u = await storedUser(page);
  const c = claimsOf(u.access_token);
  const key = await keyInfo(page);
  check(u.token_type === "DPoP" && c.cnf && c.cnf.jkt === key.jkt,
    `${who}: token_type DPoP, the access token's cnf.jkt is the thumbprint of the page's key`, `cnf.jkt ${c.cnf?.jkt}`);
  check(key.present && key.type === "private" && key.extractable === false && key.exportRefused,
    `${who}: the private key in IndexedDB is a non-extractable CryptoKey (exportKey refuses it)`);
  check(apiCalls.length > 0, `${who}: the app called the API`, `${apiCalls.length} calls`);
  for (const req of apiCalls) {
    const h = await req.allHeaders();
    check(/^DPoP /.test(h.authorization || "") && (h.dpop || "").split(".").length === 3,
      `${who}: ${req.method()} ${new URL(req.url()).pathname} carries Authorization: DPoP and a DPoP proof`);
  }
  apiCalls.length = 0;
  const stolen = await statusWith(GATEWAY + "/api/orders", u.access_token);
  check(stolen === 401, `${who}: the token copied out of the page, as Bearer, is refused`, `status ${stolen}`);
  const r = await fetch(GATEWAY + "/api/orders", { headers: { Authorization: "DPoP " + u.access_token } });
  await r.arrayBuffer();
  check(r.status === 401 && /invalid_dpop_proof/.test(r.headers.get("www-authenticate") || ""),
    `${who}: and as DPoP without a proof`, r.headers.get("www-authenticate") || `status ${r.status}`);
}
