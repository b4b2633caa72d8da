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
//
// The steps are in steps/, one module per part of the story, and run here
// in their order; what they share is in lib/ (env.mjs reads the
// environment).
import { chromium } from "playwright-core";
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CHROMIUM, GATEWAY, OUT } from "./lib/env.mjs";
import { Failure, isExpected, log, noProblems, problems, shot, shots } from "./lib/harness.mjs";
import { apiCalls, logout } from "./lib/session.mjs";
import { aliceSteps } from "./steps/alice.mjs";
import { bobSteps } from "./steps/bob.mjs";
import { refusedRenewalSteps } from "./steps/refused-renewals.mjs";

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

  try {
    await aliceSteps(page);
    await bobSteps(page, navigations);
    await refusedRenewalSteps(page);

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
