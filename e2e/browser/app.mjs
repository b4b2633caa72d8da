// app.mjs drives the demo's browser app in Debian's Chromium the way a
// person would: log in through the auth server's HTML form as alice and as
// bob, list, pay, delete and create orders, wait past the access token's
// expiry with text typed into the form, see refused renewals (in the
// background, and on demand after a 401) send bob to log in again with his
// draft and view kept, and log out (RP-initiated). The app's tokens are
// DPoP-bound (RFC 9449): it checks that the access token has cnf.jkt of the
// page's key, that the private key in IndexedDB is not extractable, that
// every API call carries Authorization: DPoP and a DPoP proof, that the
// token copied out of the page is refused without a proof, and that the
// renewed tokens stay bound to the same key. It fails on
// any CSP violation, console error or uncaught exception, and saves a PNG
// of each screen.
//
// Run by browser_test.go (go test ./e2e/browser/), which starts
// `gatehouse demo` and sets:
//
//	GATEHOUSE_APP_URL    the app at the gateway, e.g. http://127.0.0.1:8080/app/
//	GATEHOUSE_ISSUER     the auth server, e.g. http://127.0.0.1:9000
//	GATEHOUSE_ORDERS     the orders service itself (not through the gateway)
//	GATEHOUSE_PASSWORD   the demo users' password (gatehouse demo --password)
//	GATEHOUSE_OUT        the folder for the screenshots
//	GATEHOUSE_CHROMIUM   the browser (default /usr/bin/chromium)
//
// Tokens never reach the output: the script prints claims it checks, never
// a token.
import { chromium } from "playwright-core";
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

const APP = need("GATEHOUSE_APP_URL");
const ISSUER = need("GATEHOUSE_ISSUER");
const ORDERS = need("GATEHOUSE_ORDERS");
const PASSWORD = need("GATEHOUSE_PASSWORD");
const OUT = need("GATEHOUSE_OUT");
const CHROMIUM = process.env.GATEHOUSE_CHROMIUM || "/usr/bin/chromium";
const GATEWAY = new URL(APP).origin;

const t0 = Date.now();
const log = (msg) => console.log(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s  ${msg}`);

class Failure extends Error {}
function check(ok, what, detail = "") {
  if (!ok) throw new Failure(`${what}${detail ? ": " + detail : ""}`);
  log(`ok   ${what}${detail ? "  (" + detail + ")" : ""}`);
}

// Problems are CSP violations, console errors and page errors. A failed
// load the test provokes on purpose (bob's refused delete, the refused
// renewal) is expected: Chromium reports every 4xx answer to fetch as a
// console error "Failed to load resource".
const problems = [];
const expectedFailures = [];
function expectFailedLoad(status, urlPart) {
  expectedFailures.push({ status, urlPart });
}
function isExpected(msg) {
  const text = msg.text();
  const url = msg.location()?.url || "";
  const m = /^Failed to load resource: the server responded with a status of (\d+)/.exec(text);
  return m !== null && expectedFailures.some((e) => String(e.status) === m[1] && url.includes(e.urlPart));
}

let shots = 0;
async function shot(page, name) {
  const file = path.join(OUT, `${String(++shots).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log(`     screenshot ${path.basename(file)}`);
}

// The stored user of oidc-client-ts in the page's sessionStorage.
async function storedUser(page) {
  return page.evaluate(() => {
    for (let i = 0; i < sessionStorage.length; i++) {
      const k = sessionStorage.key(i);
      if (k.startsWith("oidc.user:")) return JSON.parse(sessionStorage.getItem(k));
    }
    return null;
  });
}

function claimsOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));
}

async function text(page, sel) {
  return (await page.textContent(sel))?.trim() ?? "";
}

// status of a GET with the given access token as a Bearer token, from Node
// (not the browser).
async function statusWith(url, accessToken) {
  const r = await fetch(url, { headers: { Authorization: "Bearer " + accessToken } });
  await r.arrayBuffer();
  return r.status;
}

// The page's DPoP key: oidc-client-ts keeps the spa client's key pair in
// IndexedDB (database "oidc", store "dpop", key "spa"). keyInfo reads it
// in the page: whether it exists, whether the private key is extractable
// and whether exportKey refuses it, and the RFC 7638 thumbprint of the
// public key. stash copies the CryptoKey pair (a structured clone keeps it
// non-extractable) into a database of the test's own, so that the test
// can still sign with it after the app's logout deletes it.
async function keyInfo(page, { db = "oidc", store = "dpop", stash = false } = {}) {
  return page.evaluate(async ({ db, store, stash }) => {
    const open = (name, st) => new Promise((resolve, reject) => {
      const r = indexedDB.open(name);
      r.onupgradeneeded = () => r.result.createObjectStore(st);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const req = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
    const d = await open(db, store);
    const entry = d.objectStoreNames.contains(store) ? await req(d.transaction(store).objectStore(store).get("spa")) : undefined;
    d.close();
    if (!entry || !entry.keys) return { present: false };
    const { privateKey, publicKey } = entry.keys;
    let exportRefused = false;
    try { await crypto.subtle.exportKey("jwk", privateKey); } catch { exportRefused = true; }
    const jwk = await crypto.subtle.exportKey("jwk", publicKey);
    const canon = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canon)));
    const jkt = btoa(String.fromCharCode(...hash)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    if (stash) {
      const t = await open("gatehouse-test", "keys");
      const tx = t.transaction("keys", "readwrite");
      tx.objectStore("keys").put(entry, "spa");
      await new Promise((resolve) => { tx.oncomplete = resolve; });
      t.close();
    }
    return { present: true, extractable: privateKey.extractable, type: privateKey.type, exportRefused, jkt };
  }, { db, store, stash });
}

// proofFromPage signs a DPoP proof (RFC 9449 §4.2) in the page with the key
// in db/store, for method and url and, when accessToken is set, its ath:
// the key never leaves the page; Node gets the proof only.
async function proofFromPage(page, method, url, accessToken, { db = "oidc", store = "dpop" } = {}) {
  return page.evaluate(async ({ method, url, accessToken, db, store }) => {
    const d = await new Promise((resolve, reject) => {
      const r = indexedDB.open(db);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const entry = await new Promise((resolve, reject) => {
      const r = d.transaction(store).objectStore(store).get("spa");
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    d.close();
    const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const enc = (o) => b64(new TextEncoder().encode(JSON.stringify(o)));
    const jwk = await crypto.subtle.exportKey("jwk", entry.keys.publicKey);
    const payload = { jti: crypto.randomUUID(), htm: method, htu: url, iat: Math.floor(Date.now() / 1000) };
    if (accessToken) payload.ath = b64(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(accessToken)));
    const input = enc({ typ: "dpop+jwt", alg: "ES256", jwk: { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } }) + "." + enc(payload);
    const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, entry.keys.privateKey, new TextEncoder().encode(input));
    return input + "." + b64(sig);
  }, { method, url, accessToken, db, store });
}

// statusWithDPoP is statusWith for a DPoP-bound token: Node sends it with
// a proof the page signed for the URL (proofs name the gateway's URL, also
// at orders, which the gateway passes them to as sent).
async function statusWithDPoP(page, url, accessToken, opts) {
  const htu = GATEWAY + new URL(url).pathname;
  const proof = await proofFromPage(page, "GET", htu, accessToken, opts);
  const r = await fetch(url, { headers: { Authorization: "DPoP " + accessToken, DPoP: proof } });
  await r.arrayBuffer();
  return r.status;
}

// The app's calls to the gateway's API, with their headers.
const apiCalls = [];

// login goes from the app's login view through the auth server's HTML form
// and back; it returns when the orders are listed.
async function login(page, user, { fromApp = true } = {}) {
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

// notice waits until the app's notice is of kind and matches re, and
// returns its text (what it shows at the timeout, for the failure).
async function notice(page, kind, re) {
  await page.waitForFunction(([kind, source]) => {
    const n = document.getElementById("notice");
    return n && !n.hidden && n.classList.contains(kind) && new RegExp(source).test(n.textContent);
  }, [kind, re.source], { timeout: 15000 }).catch(() => {});
  return text(page, "#notice");
}

async function rowIDs(page) {
  return page.$$eval("#orders tbody tr", (rows) => rows.map((r) => r.dataset.id));
}

// waitRows waits until the order list satisfies ok.
async function waitRows(page, ok) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const ids = await rowIDs(page);
    if (ok(ids) || Date.now() > deadline) return ids;
    await page.waitForTimeout(100);
  }
}

// refusedAfterLogout checks that an access token of a session that logged
// out is refused by the gateway and by orders itself (the revocation
// reaches every service within a second or so).
async function refusedAfterLogout(page, who, accessToken) {
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
async function revoke(tok, what) {
  const r = await fetch(ISSUER + "/oauth2/revoke", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: "spa", token: tok }),
  });
  check(r.ok, `revoke ${what} at /oauth2/revoke`, `status ${r.status}`);
}

async function logout(page, who) {
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
async function dpopBound(page, who) {
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

// detectorsWork proves that the listeners catch what they must: an inline
// style the app's CSP refuses, and a console error. Both are then forgotten.
async function detectorsWork(page) {
  await page.evaluate(() => {
    const s = document.createElement("style");
    s.textContent = "body { outline: 0 }";
    document.head.append(s);
    s.remove();
    console.error("gatehouse probe");
  });
  const deadline = Date.now() + 3000;
  const seen = () => problems.some((p) => p.startsWith("CSP violation") && p.includes("style-src")) &&
    problems.some((p) => p.includes("gatehouse probe"));
  while (!seen() && Date.now() < deadline) await page.waitForTimeout(50);
  check(seen(), "the test sees a CSP violation and a console error (probe)", problems.join("; "));
  problems.length = 0;
}

async function main() {
  await mkdir(OUT, { recursive: true });
  const profile = await mkdtemp(path.join(tmpdir(), "gatehouse-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1180, height: 760 },
    deviceScaleFactor: 1,
  });
  // Every CSP violation, from any page of any origin, is reported here.
  await context.exposeBinding("__gatehouseCSP", (source, v) => {
    problems.push(`CSP violation on ${source.frame.url()}: ${v}`);
  });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__gatehouseCSP(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
  const watch = (page) => {
    page.on("console", (msg) => {
      if (msg.type() === "error" && !isExpected(msg)) {
        problems.push(`console error on ${page.url()}: ${msg.text()} (${msg.location()?.url || ""})`);
      }
    });
    page.on("pageerror", (err) => problems.push(`uncaught exception on ${page.url()}: ${err.message}`));
  };
  context.on("page", watch);
  const page = context.pages()[0] || (await context.newPage());
  if (context.pages().length === 1) watch(page);
  const navigations = [];
  page.on("framenavigated", (f) => {
    if (f === page.mainFrame()) navigations.push(f.url());
  });
  page.on("request", (req) => {
    if (req.url().startsWith(GATEWAY + "/api/")) apiCalls.push(req);
  });
  const noProblems = (where) => check(problems.length === 0, `no CSP violation or console error ${where}`, problems.join("; "));

  try {
    // ---- alice: log in, claims, list, pay, token view, log out -------------
    await page.goto(APP);
    await page.waitForSelector("#view-login:not([hidden])");
    await shot(page, "app-logged-out");
    await detectorsWork(page);
    await login(page, "alice");
    check((await text(page, "#who")).includes("alice"), "alice: the header names her", await text(page, "#who"));
    check(await text(page, "#c-org") === "acme", "alice: org acme");
    check((await text(page, "#c-roles")).includes("admin") && (await text(page, "#c-groups")).includes("admin"),
      "alice: role and group admin");
    const scope = await text(page, "#c-scope");
    check(scope.includes("orders:read") && scope.includes("orders:write"), "alice: scope", scope);
    check(/^in \d+ s$/.test(await text(page, "#c-exp")), "alice: access token countdown", await text(page, "#c-exp"));
    let ids = await rowIDs(page);
    check(ids.includes("A-1001") && ids.includes("A-1002") && !ids.some((id) => id.startsWith("G-")),
      "alice: GET /api/orders lists acme's orders only", ids.join(" "));
    await dpopBound(page, "alice");
    await shot(page, "alice-orders");

    await page.click('#orders tr[data-id="A-1001"] button.pay');
    const paid = await notice(page, "ok", /A-1001 paid/);
    check(/A-1001 paid/.test(paid) && /orders/.test(paid) && /spiffe:\/\//.test(paid),
      "alice: pay A-1001 (orders exchanges her token for payments, over mTLS)", paid);
    await shot(page, "alice-paid");

    await page.click("#tab-token");
    await page.waitForSelector("#panel-token:not([hidden])");
    const claims = await text(page, "#all-claims");
    check(claims.includes("client_id") && claims.includes("spa"), "alice: token view shows the access token's claims");
    await shot(page, "alice-token");
    await page.click("#tab-orders");
    noProblems("for alice");
    await logout(page, "alice");
    await shot(page, "alice-logged-out");

    // ---- bob: refused and allowed delete, create across expiry --------------
    await login(page, "bob");
    check(await text(page, "#c-roles") === "—", "bob: no roles");
    await page.click("#tab-orders");
    expectFailedLoad(403, "/api/orders/A-1001");
    await page.click('#orders tr[data-id="A-1001"] button.delete');
    const refused = await notice(page, "error", /A-1001 refused/);
    check(/refused/.test(refused) && /403/.test(refused) && /: \S/.test(refused.split("(403)")[1] || ""),
      "bob: DELETE alice's A-1001 refused, the problem's title and detail shown", refused);
    check((await rowIDs(page)).includes("A-1001"), "bob: A-1001 still listed");
    await shot(page, "bob-delete-refused");
    await page.click('#orders tr[data-id="A-1002"] button.delete');
    const deleted = await notice(page, "ok", /A-1002 deleted/);
    ids = await waitRows(page, (ids) => !ids.includes("A-1002"));
    check(/A-1002 deleted/.test(deleted) && !ids.includes("A-1002"), "bob: DELETE his own A-1002", deleted);

    // Type, then wait past the access token's expiry.
    const draft = "giant magnet, typed before expiry";
    await page.fill("#item", draft);
    const first = await storedUser(page);
    const firstClaims = claimsOf(first.access_token);
    const lifetime = firstClaims.exp - firstClaims.iat;
    check(lifetime <= 120, "bob: the spa's access token is short-lived", `${lifetime} s`);
    await page.evaluate(() => { window.__sameDocument = true; });
    const navsBefore = navigations.length;
    const waitMs = (firstClaims.exp + 5) * 1000 - Date.now();
    log(`     waiting ${Math.round(waitMs / 1000)} s, past the access token's expiry`);
    await page.waitForTimeout(Math.max(waitMs, 0));
    const second = await storedUser(page);
    const secondClaims = claimsOf(second.access_token);
    check(secondClaims.jti !== firstClaims.jti && secondClaims.exp > Date.now() / 1000,
      "bob: a new access token, renewed in the background", `exp ${firstClaims.exp} → ${secondClaims.exp}`);
    check(second.refresh_token !== first.refresh_token, "bob: the refresh token rotated");
    check(navigations.length === navsBefore && (await page.evaluate(() => window.__sameDocument === true)),
      "bob: no redirect, no reload", navigations.slice(navsBefore).join(" "));
    check(await text(page, "#c-jti") === secondClaims.jti, "bob: the app shows the new token");
    check(second.token_type === "DPoP" && secondClaims.cnf?.jkt === firstClaims.cnf?.jkt && secondClaims.cnf?.jkt === (await keyInfo(page)).jkt,
      "bob: the renewed token is bound to the same key", `cnf.jkt ${secondClaims.cnf?.jkt}`);
    check(await page.inputValue("#item") === draft, "bob: the typed text is still there");
    await shot(page, "bob-renewed");
    await page.click("#create button[type=submit]");
    const created = await notice(page, "ok", /created/);
    const newID = /Order (\S+) created/.exec(created)?.[1];
    ids = await waitRows(page, (ids) => ids.includes(newID));
    check(newID && ids.includes(newID), "bob: the typed order submits after the expiry", created);
    check(await page.inputValue("#item") === "", "bob: the form is cleared after it submitted");
    await shot(page, "bob-created");
    noProblems("for bob");

    // A refused background renewal: bob's refresh token family is revoked
    // while he types, on the Token view. When his access token nears its
    // expiry, the app's renewal is refused: it keeps the draft and the view
    // and sends him to log in again, then restores both.
    expectFailedLoad(400, "/oauth2/token");
    const current = await storedUser(page);
    await revoke(current.refresh_token, "bob's refresh token (its family)");
    const draft1 = "anvil polish, typed while the session ended";
    await page.fill("#item", draft1);
    await page.click("#tab-token");
    const exp = claimsOf(current.access_token).exp;
    log(`     waiting up to ${Math.round(exp - Date.now() / 1000)} s for the background renewal`);
    await page.waitForURL((u) => u.href.startsWith(ISSUER), { timeout: Math.max(exp * 1000 - Date.now(), 0) + 10000 });
    check(true, "bob: the refused background renewal sends him to the login page");
    await login(page, "bob", { fromApp: false });
    check(await page.inputValue("#item") === draft1, "bob: after the new login, the draft is back");
    check(await page.getAttribute("#tab-token", "aria-selected") === "true" && await page.isVisible("#panel-token"),
      "bob: and so is the Token view");
    check(/kept/.test(await notice(page, "ok", /kept/)), "bob: the app says it kept his work");
    await shot(page, "bob-back-token-view");
    noProblems("after the refused background renewal");
    await page.click("#tab-orders");

    // A refused renewal on demand: his refresh token family and his access
    // token are revoked; his next action gets a 401, the renewal it tries
    // is refused, and the same happens.
    const revoked = await storedUser(page);
    await revoke(revoked.refresh_token, "bob's new refresh token (its family)");
    await revoke(revoked.access_token, "bob's access token");
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && (await statusWithDPoP(page, GATEWAY + "/api/orders", revoked.access_token)) !== 401) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const draft2 = "rocket skates, typed before the session ended";
    await page.fill("#item", draft2);
    expectFailedLoad(401, "/api/orders");
    await page.click("#reload");
    await login(page, "bob", { fromApp: false });
    check(await page.inputValue("#item") === draft2, "bob: after the refused renewal and a new login, the draft is back");
    check(/kept/.test(await notice(page, "ok", /kept/)), "bob: the app says it kept his work");
    await shot(page, "bob-back");
    await page.click("#create button[type=submit]");
    const created2 = await notice(page, "ok", /created/);
    check(/rocket skates/.test(created2), "bob: and it submits", created2);
    noProblems("after the refused renewal");

    await logout(page, "bob");
    noProblems("at the end");
  } catch (err) {
    await shot(page, "failure").catch(() => {});
    throw err;
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
  log(`ok   all steps, ${shots} screenshots in ${OUT}`);
}

main().catch((err) => {
  if (problems.length) console.error("problems seen:\n  " + problems.join("\n  "));
  console.error(err instanceof Failure ? "FAIL " + err.message : err);
  process.exit(1);
});
