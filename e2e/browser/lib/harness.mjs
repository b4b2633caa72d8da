// harness.mjs holds how app.mjs reports: the timed log, check(), the
// problems seen in the browser (CSP violations, console errors, uncaught
// exceptions) and the failed loads the test provokes, and the screenshots.
import path from "node:path";
import { OUT } from "./env.mjs";

// log prints msg after the seconds since the script started.
const t0 = Date.now();
export const log = (msg) => console.log(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s  ${msg}`);

// Failure is a check that did not hold; check logs one that did.
export class Failure extends Error {}
export function check(ok, what, detail = "") {
  if (!ok) throw new Failure(`${what}${detail ? ": " + detail : ""}`);
  log(`ok   ${what}${detail ? "  (" + detail + ")" : ""}`);
}

// Problems are CSP violations, console errors and page errors. A failed
// load the test provokes on purpose (bob's refused delete, the refused
// renewal) is expected: Chromium reports every 4xx answer to fetch as a
// console error "Failed to load resource".
export const problems = [];
const expectedFailures = [];
// expectFailedLoad expects failed loads of status from URLs with urlPart;
// isExpected reports whether a console message is one of them.
export function expectFailedLoad(status, urlPart) {
  expectedFailures.push({ status, urlPart });
}
export function isExpected(msg) {
  const text = msg.text();
  const url = msg.location()?.url || "";
  const m = /^Failed to load resource: the server responded with a status of (\d+)/.exec(text);
  return m !== null && expectedFailures.some((e) => String(e.status) === m[1] && url.includes(e.urlPart));
}

// noProblems checks that the browser reported no problem so far.
export const noProblems = (where) => check(problems.length === 0, `no CSP violation or console error ${where}`, problems.join("; "));

// shots counts the screenshots; shot saves one of page, numbered, in OUT.
export let shots = 0;
export async function shot(page, name) {
  const file = path.join(OUT, `${String(++shots).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log(`     screenshot ${path.basename(file)}`);
}

// detectorsWork proves that the listeners catch what they must: an inline
// style the app's CSP refuses, and a console error. Both are then forgotten.
export async function detectorsWork(page) {
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
