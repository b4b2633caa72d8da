// refused-renewals.mjs holds the steps of bob's renewals that are refused,
// in the background and on demand: he logs in again and finds his draft and
// his view kept.
import { GATEWAY, ISSUER } from "../lib/env.mjs";
import { check, expectFailedLoad, log, noProblems, shot } from "../lib/harness.mjs";
import { claimsOf, notice, storedUser } from "../lib/page.mjs";
import { statusWithDPoP } from "../lib/dpop.mjs";
import { login, revoke } from "../lib/session.mjs";

// refusedRenewalSteps runs the steps in page, where bob is logged in.
export async function refusedRenewalSteps(page) {
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
}
