// alice.mjs holds alice's steps: she logs in, sees her claims and acme's
// orders, pays one, looks at her token and logs out.
import { APP } from "../lib/env.mjs";
import { check, detectorsWork, noProblems, shot } from "../lib/harness.mjs";
import { notice, rowIDs, text } from "../lib/page.mjs";
import { dpopBound, login, logout } from "../lib/session.mjs";

// aliceSteps runs alice's steps in page, from opening the app to her logout.
export async function aliceSteps(page) {
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
  const ids = await rowIDs(page);
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
}
