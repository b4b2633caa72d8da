// The browser app of the gatehouse demo (scenarios 002 and 003).
//
// It logs in at the auth server with the authorization code flow and PKCE
// (oidc-client-ts, vendored in vendor/), calls the orders service through
// the gateway with the access token, and renews that token in the
// background with the rotating refresh token, so that nothing the user is
// doing is lost when it expires.
//
// Its tokens are DPoP-bound (RFC 9449): oidc-client-ts makes a P-256 key
// pair with WebCrypto whose private key is not extractable, keeps it in
// IndexedDB (database "oidc", store "dpop"), sends its thumbprint with the
// authorization request (dpop_jkt) and a proof with every token request,
// and the auth server binds the access token (cnf.jkt) and the refresh
// token to it. Every call to the gateway carries "Authorization: DPoP" and
// a fresh proof for its method and URL (dpopProof): a token copied out of
// the page is no good without the key, which script can use but not read. When the auth server refuses a renewal
// (the session ended, the refresh family was revoked), the app keeps its
// state (the draft order, the current view) in sessionStorage, sends the
// user to log in again and restores the state afterwards.
//
// No framework and no HTML strings: the page's CSP allows scripts and
// styles from this origin only and enforces Trusted Types, so every node
// is built with createElement and textContent.
"use strict";

(() => {
  const STATE_KEY = "gatehouse-app:state"; // what a new login restores
  const EARLY_RENEWAL = 15; // seconds before expiry the background renewal runs

  const $ = (id) => document.getElementById(id);

  // UserManager with one renewal at a time: the background timer and a call
  // that finds the token expired share it. Two refreshes with the same
  // rotating refresh token look like a stolen token to the auth server
  // (reuse detection), which then revokes the whole family.
  class AppUserManager extends oidc.UserManager {
    signinSilent(args) {
      if (!this.renewal) {
        this.renewal = super.signinSilent(args).finally(() => { this.renewal = null; });
      }
      return this.renewal;
    }
  }

  // Stop ends an action that cannot go on (the app is leaving to log in).
  class Stop extends Error {}

  const app = {
    cfg: null,
    mgr: null,
    user: null,
    view: "orders",
    renewals: 0,
    orders: [],
  };

  // ---- notices ----------------------------------------------------------

  function notify(text, kind = "info") {
    const n = $("notice");
    n.textContent = text;
    n.className = "notice " + kind;
    n.setAttribute("role", kind === "error" ? "alert" : "status");
    n.hidden = false;
  }

  // ---- state kept across a login ----------------------------------------

  function saveState() {
    sessionStorage.setItem(STATE_KEY, JSON.stringify({ view: app.view, draft: $("item").value }));
  }

  function restoreState() {
    const raw = sessionStorage.getItem(STATE_KEY);
    if (!raw) return false;
    sessionStorage.removeItem(STATE_KEY);
    try {
      const s = JSON.parse(raw);
      if (typeof s.draft === "string" && s.draft !== "" && $("item").value === "") $("item").value = s.draft;
      if (s.view === "orders" || s.view === "token") showTab(s.view);
      return true;
    } catch {
      return false;
    }
  }

  // ---- views --------------------------------------------------------------

  function showView(name) {
    for (const v of ["loading", "login", "app"]) $("view-" + v).hidden = v !== name;
    const signedIn = name === "app";
    $("who").hidden = !signedIn;
    $("logout").hidden = !signedIn;
  }

  function showTab(view) {
    app.view = view;
    for (const v of ["orders", "token"]) {
      $("tab-" + v).setAttribute("aria-selected", String(v === view));
      $("panel-" + v).hidden = v !== view;
    }
  }

  // ---- tokens ---------------------------------------------------------------

  // decode returns a JWT's claims for display. The app does not trust
  // them: the gateway and the services verify the token.
  function decode(jwt) {
    try {
      const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return {};
    }
  }

  const list = (v) => (Array.isArray(v) ? v.join(", ") : v || "") || "—";

  function renderSession() {
    const u = app.user;
    if (!u) return;
    const at = decode(u.access_token);
    const p = u.profile || {};
    const name = p.preferred_username || p.name || at.email || at.sub;
    $("who").textContent = `${name}${at.org ? " · " + at.org : ""}`;
    $("c-user").textContent = [p.preferred_username, at.name, at.email].filter(Boolean).join(" · ") || "—";
    $("c-sub").textContent = at.sub || "—";
    $("c-org").textContent = at.org || "—";
    $("c-roles").textContent = list(at.roles);
    $("c-groups").textContent = list(at.groups);
    $("c-scope").textContent = at.scope || "—";
    $("c-aud").textContent = list(at.aud);
    $("c-jti").textContent = at.jti || "—";
    $("c-cnf").textContent = at.cnf && at.cnf.jkt ? "DPoP key " + at.cnf.jkt : "nothing (a bearer token)";
    $("c-renewals").textContent = ["not yet", "once, in the background"][app.renewals] || `${app.renewals} times, in the background`;
    fillClaims($("all-claims"), at);
    fillClaims($("id-claims"), u.id_token ? decode(u.id_token) : {});
    tick();
  }

  function fillClaims(dl, claims) {
    dl.replaceChildren();
    for (const [k, v] of Object.entries(claims)) {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.className = "mono";
      dd.textContent = ["exp", "iat", "nbf", "auth_time"].includes(k) && typeof v === "number"
        ? `${v} (${new Date(v * 1000).toLocaleTimeString()})`
        : typeof v === "string" ? v : JSON.stringify(v);
      dl.append(dt, dd);
    }
  }

  // tick updates the access token's countdown, once a second.
  function tick() {
    const el = $("c-exp");
    const u = app.user;
    if (!u || !u.expires_at) {
      el.textContent = "—";
      return;
    }
    const left = Math.round(u.expires_at - Date.now() / 1000);
    el.textContent = left > 0 ? `in ${left} s` : "expired";
    el.classList.toggle("low", left <= EARLY_RENEWAL);
  }

  // relogin keeps the app's state and sends the user to log in again.
  async function relogin(message) {
    saveState();
    notify(message + " Taking you to the login page…", "warn");
    await app.mgr.removeUser();
    await app.mgr.signinRedirect();
    throw new Stop("leaving to log in");
  }

  // renewalRefused tells a refusal of the auth server (an OAuth error:
  // the session ended, the refresh token family was revoked) from a
  // failure to reach it.
  const renewalRefused = (err) => err instanceof oidc.ErrorResponse;

  function describe(err) {
    return (err && (err.error_description || err.error || err.message)) || String(err);
  }

  // accessToken returns the user with a usable access token, renewing it first when it
  // has expired (the background renewal could not run, e.g. the computer
  // slept) or when force is set (the gateway refused it).
  async function accessToken(force) {
    let u = await app.mgr.getUser();
    if (!u) await relogin("You are not logged in.");
    if (force || u.expires_in === undefined || u.expires_in < 5) {
      try {
        u = await app.mgr.signinSilent();
      } catch (err) {
        if (renewalRefused(err)) await relogin(`The auth server ended your session (${describe(err)}).`);
        throw new Error("could not renew the access token: " + describe(err));
      }
    }
    return u;
  }

  // ---- the API, through the gateway ----------------------------------------

  // api calls the gateway with the access token and a DPoP proof of this
  // request (RFC 9449 §7: method and URL without query, the token's hash),
  // fresh for every attempt. A 401 (the token expired or was revoked
  // between the check and the call) renews it once and retries: the
  // gateway refused the request before any service saw it. A 401 that
  // asks for a server nonce (use_dpop_nonce, §9) is retried once with it.
  async function api(method, path, body) {
    const url = new URL(path, location.origin).href;
    const send = async (u, nonce) => {
      const headers = { Accept: "application/json" };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const proof = u.token_type && u.token_type.toLowerCase() === "dpop"
        ? await app.mgr.dpopProof(url, u, method, nonce) : undefined;
      if (proof) {
        headers.Authorization = "DPoP " + u.access_token;
        headers.DPoP = proof;
      } else {
        headers.Authorization = "Bearer " + u.access_token;
      }
      return fetch(url, {
        method, headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      });
    };
    let u = await accessToken(false);
    let resp = await send(u);
    const nonce = resp.headers.get("DPoP-Nonce");
    if (resp.status === 401 && nonce && /use_dpop_nonce/.test(resp.headers.get("WWW-Authenticate") || "")) {
      resp = await send(u, nonce);
    }
    if (resp.status === 401) resp = await send(await accessToken(true));
    return resp;
  }

  // problemText is the human part of an RFC 9457 problem answer.
  async function problemText(resp) {
    let title = resp.statusText || "Error", detail = "";
    try {
      const p = await resp.json();
      title = p.title || title;
      detail = p.detail || "";
    } catch { /* not JSON */ }
    return `${title} (${resp.status})${detail ? ": " + detail : ""}`;
  }

  // run performs a user action and shows what went wrong, if anything.
  async function run(action) {
    try {
      await action();
    } catch (err) {
      if (err instanceof Stop) return;
      notify(describe(err), "error");
    }
  }

  async function loadOrders() {
    const resp = await api("GET", "/api/orders");
    if (!resp.ok) {
      notify("Could not list the orders: " + (await problemText(resp)), "error");
      return;
    }
    const body = await resp.json();
    app.orders = body.orders || [];
    $("orders-org").textContent = body.org || "your organization";
    renderOrders();
  }

  function renderOrders() {
    const sub = app.user ? decode(app.user.access_token).sub : "";
    const tbody = $("orders").tBodies[0];
    tbody.replaceChildren();
    for (const o of app.orders) {
      const tr = document.createElement("tr");
      tr.dataset.id = o.id;
      if (o.owner === sub) tr.className = "mine";
      const cell = (text, cls) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (cls) td.className = cls;
        tr.append(td);
        return td;
      };
      cell(o.id, "mono");
      cell(o.item);
      cell(o.owner === sub ? "you" : (o.owner || "").slice(0, 8) + "…", o.owner === sub ? "" : "mono").title = o.owner || "";
      const actions = cell("", "actions");
      actions.append(button("Pay", "small pay", () => pay(o.id)), button("Delete", "small danger delete", () => remove(o.id)));
      tbody.append(tr);
    }
    $("orders-empty").hidden = app.orders.length > 0;
    $("orders").hidden = app.orders.length === 0;
  }

  function button(label, cls, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.className = cls;
    b.addEventListener("click", () => {
      b.disabled = true;
      run(onClick).finally(() => { b.disabled = false; });
    });
    return b;
  }

  async function remove(id) {
    const resp = await api("DELETE", "/api/orders/" + encodeURIComponent(id));
    if (resp.status === 204) {
      notify(`Order ${id} deleted.`, "ok");
      await loadOrders();
      return;
    }
    notify(`Delete ${id} refused: ${await problemText(resp)}`, "error");
  }

  async function pay(id) {
    const resp = await api("POST", "/api/orders/" + encodeURIComponent(id) + "/pay");
    if (!resp.ok) {
      notify(`Payment of ${id} refused: ${await problemText(resp)}`, "error");
      return;
    }
    const p = await resp.json();
    notify(`Order ${p.order} ${p.status}: payments saw the user ${p.email || p.user}, acting through ${p.act}` +
      (p.peer ? `, over mutual TLS from ${p.peer}.` : "."), "ok");
  }

  async function create(event) {
    event.preventDefault();
    const input = $("item");
    const item = input.value.trim();
    if (!item) return;
    const submit = event.submitter || $("create").querySelector("button");
    submit.disabled = true;
    try {
      const resp = await api("POST", "/api/orders", { item });
      if (resp.status !== 201) {
        notify("The order was not created: " + (await problemText(resp)), "error");
        return;
      }
      const o = await resp.json();
      input.value = "";
      sessionStorage.removeItem(STATE_KEY);
      notify(`Order ${o.id} created: ${o.item}.`, "ok");
      await loadOrders();
    } finally {
      submit.disabled = false;
    }
  }

  async function logout() {
    sessionStorage.removeItem(STATE_KEY);
    const md = await app.mgr.metadataService.getMetadata();
    if (md.end_session_endpoint) {
      // RP-initiated logout (id_token_hint, client_id, post_logout_redirect_uri,
      // state): the auth server ends the session and revokes its tokens, then
      // sends the browser back here.
      await app.mgr.signoutRedirect({ state: { loggedOut: true } });
      throw new Stop("leaving to log out");
    }
    // An auth server without end_session_endpoint: revoke the tokens and
    // forget them here.
    await app.mgr.revokeTokens();
    await app.mgr.removeUser();
    app.user = null;
    showView("login");
    notify("You are logged out: the tokens were revoked (the auth server has no logout endpoint).", "info");
  }

  // ---- start ------------------------------------------------------------------

  async function main() {
    const resp = await fetch("config.json", { cache: "no-store" });
    if (!resp.ok) throw new Error("config.json: " + resp.status);
    app.cfg = await resp.json();
    const cfg = app.cfg;
    const home = new URL(cfg.post_logout_redirect_uri);
    if (location.origin !== home.origin) {
      // The redirect URI is registered for one origin (e.g. 127.0.0.1, not
      // localhost), and the login's state lives in that origin's storage.
      location.replace(home.href);
      return;
    }
    const appPath = home.pathname;
    app.mgr = new AppUserManager({
      authority: cfg.issuer,
      client_id: cfg.client_id,
      redirect_uri: cfg.redirect_uri,
      post_logout_redirect_uri: cfg.post_logout_redirect_uri,
      response_type: "code",
      scope: cfg.scope,
      resource: cfg.resource,
      userStore: new oidc.WebStorageStateStore({ store: window.sessionStorage }),
      // DPoP (RFC 9449): a non-extractable WebCrypto key in IndexedDB binds
      // the code (dpop_jkt), the refresh token and every access token.
      dpop: { store: new oidc.IndexedDbDPoPStore(), bind_authorization_code: true },
      automaticSilentRenew: true, // with a refresh token: the refresh_token grant, no iframe
      accessTokenExpiringNotificationTimeInSeconds: EARLY_RENEWAL,
      loadUserInfo: false,
      monitorSession: false,
    });
    const mgr = app.mgr;
    mgr.events.addUserLoaded((u) => {
      const renewed = app.user && u.access_token !== app.user.access_token;
      app.user = u;
      if (renewed) app.renewals++;
      renderSession();
    });
    mgr.events.addSilentRenewError((err) => {
      if (renewalRefused(err)) {
        relogin(`The auth server ended your session (${describe(err)}).`).catch(() => {});
      } else {
        notify(`Could not renew the access token (${describe(err)}); the app tries again when you act.`, "warn");
      }
    });

    $("login").addEventListener("click", () => run(() => mgr.signinRedirect()));
    $("logout").addEventListener("click", () => run(logout));
    $("reload").addEventListener("click", () => run(loadOrders));
    $("create").addEventListener("submit", (e) => run(() => create(e)));
    $("item").addEventListener("input", () => {
      if (app.user) sessionStorage.setItem(STATE_KEY, JSON.stringify({ view: app.view, draft: $("item").value }));
    });
    for (const b of document.querySelectorAll(".tabs button")) {
      b.addEventListener("click", () => showTab(b.dataset.view));
    }
    showTab("orders");
    setInterval(tick, 1000);

    const here = new URL(location.href);
    if (here.pathname === new URL(cfg.redirect_uri).pathname) {
      try {
        await mgr.signinRedirectCallback();
      } catch (err) {
        notify("The login did not complete: " + describe(err), "error");
      }
      history.replaceState(null, "", appPath);
    } else if (here.searchParams.has("state")) {
      // Back from the auth server's logout endpoint.
      const done = await mgr.signoutRedirectCallback().catch((err) => ({ err }));
      history.replaceState(null, "", appPath);
      if (done && done.err) notify("The logout answer was not understood: " + describe(done.err), "warn");
      else notify("You are logged out.", "info");
    }
    await mgr.clearStaleState();

    let user = await mgr.getUser();
    if (user && user.expired) {
      user = await mgr.signinSilent().catch(() => null);
    }
    if (!user) {
      showView("login");
      return;
    }
    app.user = user;
    renderSession();
    showView("app");
    if (restoreState()) notify("Your draft and view were kept.", "ok");
    await run(loadOrders);
  }

  main().catch((err) => {
    showView("login");
    notify("The app could not start: " + describe(err), "error");
  });
})();
