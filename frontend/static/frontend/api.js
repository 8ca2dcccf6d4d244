// The REST client: JSON (or multipart) requests with the access token, refreshed when it expires.
//
// Token storage, a deliberate trade-off:
// - The access token (5 minutes) lives only in this object's memory, so it never reaches storage or a URL.
// - The refresh token is in localStorage so a reload, or a second tab, stays logged in. Script injected into
//   the page could read it; we keep injection out (every piece of user and model text goes in through
//   textContent or the escaping Markdown renderer, and nothing loads from another origin), the server rotates
//   it on every use and blacklists the old one, and logging out revokes it. An HttpOnly cookie would hide it
//   from scripts but needs CSRF protection on the refresh endpoint, which the API does not have today.

const REFRESH_KEY = "realtime-chat.refresh";
const EXPIRY_MARGIN_MS = 20_000; // refresh this long before the access token expires

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
  }

  get loggedIn() {
    return Boolean(this.access || readRefresh());
  }

  /** Stores a fresh pair after login. */
  signIn({ access, refresh }) {
    this.access = access;
    writeRefresh(refresh);
  }

  async logout() {
    const refresh = readRefresh();
    this.access = null;
    writeRefresh(null);
    if (refresh) {
      await fetch("/api/auth/logout/", jsonInit("POST", { refresh })).catch(() => null);
    }
  }

  /** A valid access token, refreshed first when missing or about to expire (used by the socket too). */
  async accessToken() {
    if (this.access && expiresAt(this.access) - Date.now() > EXPIRY_MARGIN_MS) return this.access;
    return this.refresh();
  }

  /** One refresh at a time; a rejected refresh ends the session. */
  refresh() {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  async doRefresh() {
    let refresh = readRefresh();
    if (!refresh) return this.end("Please log in.");
    let response = await fetch("/api/auth/refresh/", jsonInit("POST", { refresh }));
    // Another tab may have rotated the token meanwhile (the old one is then blacklisted): use the new one.
    if (response.status === 401 && readRefresh() && readRefresh() !== refresh) {
      refresh = readRefresh();
      response = await fetch("/api/auth/refresh/", jsonInit("POST", { refresh }));
    }
    if (response.status === 401 || response.status === 400) {
      return this.end("Your session has ended. Please log in again.");
    }
    if (!response.ok) throw new ApiError(response.status, await readBody(response));
    const pair = await response.json();
    this.access = pair.access;
    if (pair.refresh) writeRefresh(pair.refresh);
    return this.access;
  }

  end(reason) {
    const wasLoggedIn = this.loggedIn;
    this.access = null;
    writeRefresh(null);
    if (wasLoggedIn) this.onSessionEnded(reason);
    throw new SessionEnded(reason);
  }

  /** Public endpoints (signup, login, verify): no token. */
  async publicRequest(method, path, body) {
    const response = await fetch(path, jsonInit(method, body));
    return parse(response);
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

function jsonInit(method, body) {
  const init = { method, headers: { Accept: "application/json" } };
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

function readRefresh() {
  try {
    return localStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function writeRefresh(value) {
  try {
    if (value) localStorage.setItem(REFRESH_KEY, value);
    else localStorage.removeItem(REFRESH_KEY);
  } catch {
    // storage disabled: the login lasts as long as the page
  }
}
