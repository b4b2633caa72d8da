// page.mjs holds what app.mjs reads from the app's page: the stored user
// and its token's claims, texts, the app's notice and the listed orders.

// The stored user of oidc-client-ts in the page's sessionStorage.
export async function storedUser(page) {
  return page.evaluate(() => {
    for (let i = 0; i < sessionStorage.length; i++) {
      const k = sessionStorage.key(i);
      if (k.startsWith("oidc.user:")) return JSON.parse(sessionStorage.getItem(k));
    }
    return null;
  });
}

// claimsOf is the payload of a JWT, decoded (not verified).
export function claimsOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));
}

// text is the trimmed text of the element sel.
export async function text(page, sel) {
  return (await page.textContent(sel))?.trim() ?? "";
}

// notice waits until the app's notice is of kind and matches re, and
// returns its text (what it shows at the timeout, for the failure).
export async function notice(page, kind, re) {
  await page.waitForFunction(([kind, source]) => {
    const n = document.getElementById("notice");
    return n && !n.hidden && n.classList.contains(kind) && new RegExp(source).test(n.textContent);
  }, [kind, re.source], { timeout: 15000 }).catch(() => {});
  return text(page, "#notice");
}

// rowIDs are the ids of the listed orders.
export async function rowIDs(page) {
  return page.$$eval("#orders tbody tr", (rows) => rows.map((r) => r.dataset.id));
}

// waitRows waits until the order list satisfies ok.
export async function waitRows(page, ok) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const ids = await rowIDs(page);
    if (ok(ids) || Date.now() > deadline) return ids;
    await page.waitForTimeout(100);
  }
}
