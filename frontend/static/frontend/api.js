// The REST client: JSON (or multipart) requests with the access token, refreshed when it expires.
//
// Where the tokens live:
// - The access token (5 minutes) lives only in this object's memory, so it never reaches storage or a URL.
// - The refresh token is an HttpOnly cookie no script on the page can read, SameSite=Strict and sent only to
//   /api/auth/refresh/ and /api/auth/logout/. The page asks for that flow with the X-Refresh-Cookie header, which a
//   cross-site form cannot send, so another site cannot refresh or log out in a visitor's name.
// - localStorage holds only "this browser is logged in", so a page load knows to ask for an access token (and a
//   visitor who never logged in sees the login form without a refused refresh first).

const COOKIE_FLOW = { "X-Refresh-Cookie": "1" };
const SIGNED_IN_KEY = "realtime-chat.signed-in";
const OLD_REFRESH_KEY = "realtime-chat.refresh";
const REFRESH_LOCK = "realtime-chat.refresh";
const EXPIRY_MARGIN_MS = 20_000; // refresh this long before the access token expires
const RACE_PAUSE_MS = 300; // without Web Locks: how long a tab refused in a race waits for the winner's cookie

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `Request failed (${status}).`);
    this.status = status;
    this.code = body && body.code;
    this.fieldErrors = (body && body.errors) || {};
    this.body = body;
  }
}

export class SessionEnded extends Error {}

export class ApiClient {
  /** onSessionEnded(reason) is called once when the refresh token is rejected or the user logs out. */
  constructor({ onSessionEnded }) {
    this.onSessionEnded = onSessionEnded;
    this.access = null;
    this.refreshing = null;
    forgetOldRefreshToken();
  }

  get loggedIn() {
    return Boolean(this.access || storageRead(SIGNED_IN_KEY));
  }

  /** The server sets the refresh token's cookie; this object keeps the access token. */
  async login({ username, password }) {
    const response = await fetch("/api/auth/login/", jsonInit("POST", { username, password }, COOKIE_FLOW));
    this.accessReceived(await parse(response));
  }

  accessReceived({ access }) {
    this.access = access;
    storageWrite(SIGNED_IN_KEY, "1");
  }

  async logout() {
    this.access = null;
    storageWrite(SIGNED_IN_KEY, null);
    await fetch("/api/auth/logout/", jsonInit("POST", undefined, COOKIE_FLOW)).catch(() => null);
  }

  /** A valid access token, refreshed first when missing or about to expire (used by the socket too). */
  async accessToken() {
    if (this.access && expiresAt(this.access) - Date.now() > EXPIRY_MARGIN_MS) return this.access;
    return this.refresh();
  }

  /** One refresh at a time; a rejected refresh ends the session. Tabs share the cookie and each refresh spends
   * the token in it, so with Web Locks one tab at a time refreshes: the next one sends the cookie the last set. */
  refresh() {
    if (!this.refreshing) {
      const locks = navigator.locks;
      const attempt = locks ? locks.request(REFRESH_LOCK, () => this.doRefresh()) : this.doRefresh();
      this.refreshing = attempt.finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  async doRefresh() {
    const send = () => fetch("/api/auth/refresh/", jsonInit("POST", undefined, COOKIE_FLOW));
    let response = await send();
    // Without Web Locks (a page over plain http from another machine) tabs can race. The server refuses the loser
    // without revoking anything (JWT_REFRESH_REUSE_GRACE_SECONDS), and the cookie soon holds the winner's token.
    if (response.status === 401 && !navigator.locks) {
      await new Promise((resolve) => setTimeout(resolve, RACE_PAUSE_MS));
      response = await send();
    }
    if (response.status === 401 || response.status === 400) {
      return this.end("Your session has ended. Please log in again.");
    }
    if (!response.ok) throw new ApiError(response.status, await readBody(response));
    this.accessReceived(await response.json());
    return this.access;
  }

  end(reason) {
    const wasLoggedIn = this.loggedIn;
    this.access = null;
    storageWrite(SIGNED_IN_KEY, null);
    if (wasLoggedIn) this.onSessionEnded(reason);
    throw new SessionEnded(reason);
  }

  /** Public endpoints (signup, verify): no token. */
  publicRequest(method, path, body) {
    return publicRequest(method, path, body);
  }

  /** An authenticated request; `form` (FormData) sends multipart instead of JSON. Retries once after a 401. */
  async request(method, path, { body, form } = {}) {
    const send = async (token) => {
      const init = form ? { method, body: form, headers: {} } : jsonInit(method, body);
      init.headers.Authorization = `Bearer ${token}`;
      return fetch(path, init);
    };
    let response = await send(await this.accessToken());
    if (response.status === 401) response = await send(await this.refresh());
    if (response.status === 401) this.end("Your session has ended. Please log in again.");
    return parse(response);
  }

  get(path) {
    return this.request("GET", path);
  }

  post(path, body) {
    return this.request("POST", path, { body });
  }

  patch(path, body) {
    return this.request("PATCH", path, { body });
  }

  delete(path) {
    return this.request("DELETE", path);
  }

  upload(path, form) {
    return this.request("POST", path, { form });
  }
}

/** A request to an endpoint that needs no login (sign-up, verification, password reset). */
export async function publicRequest(method, path, body) {
  return parse(await fetch(path, jsonInit(method, body)));
}

function jsonInit(method, body, headers = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return init;
}

async function readBody(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 200) };
  }
}

async function parse(response) {
  const body = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** The expiry from the JWT payload: only used to refresh early, never trusted for anything else. */
function expiresAt(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)).exp * 1000;
  } catch {
    return 0;
  }
}

/** Older versions of this page kept the refresh token in localStorage, where scripts read it: revoked, not only
 * dropped (the person logs in once more, and gets the cookie). */
function forgetOldRefreshToken() {
  const refresh = storageRead(OLD_REFRESH_KEY);
  if (!refresh) return;
  storageWrite(OLD_REFRESH_KEY, null);
  fetch("/api/auth/logout/", jsonInit("POST", { refresh })).catch(() => null);
}

function storageRead(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function storageWrite(key, value) {
  try {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch {
    // storage disabled: a reload shows the login form (the cookie still works once logged in again)
  }
}
