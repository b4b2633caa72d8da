// dpop.mjs holds the DPoP side of app.mjs: the page's key as IndexedDB
// keeps it, proofs signed with it in the page, and requests from Node with
// a token, with or without such a proof.
import { GATEWAY } from "./env.mjs";

// status of a GET with the given access token as a Bearer token, from Node
// (not the browser).
export async function statusWith(url, accessToken) {
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
export async function keyInfo(page, { db = "oidc", store = "dpop", stash = false } = {}) {
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
export async function proofFromPage(page, method, url, accessToken, { db = "oidc", store = "dpop" } = {}) {
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
export async function statusWithDPoP(page, url, accessToken, opts) {
  const htu = GATEWAY + new URL(url).pathname;
  const proof = await proofFromPage(page, "GET", htu, accessToken, opts);
  const r = await fetch(url, { headers: { Authorization: "DPoP " + accessToken, DPoP: proof } });
  await r.arrayBuffer();
  return r.status;
}
