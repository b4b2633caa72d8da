// bob.mjs holds bob's steps: a delete refused and one allowed, and an order
// typed before his access token expires and submitted after its renewal in
// the background.
import { check, expectFailedLoad, log, noProblems, shot } from "../lib/harness.mjs";
import { claimsOf, notice, rowIDs, storedUser, text, waitRows } from "../lib/page.mjs";
import { keyInfo } from "../lib/dpop.mjs";
import { login } from "../lib/session.mjs";

// bobSteps runs bob's steps in page, from the app's login view; navigations
// are the URLs the page's main frame has navigated to.
export async function bobSteps(page, navigations) {
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
  let ids = await waitRows(page, (ids) => !ids.includes("A-1002"));
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
}
