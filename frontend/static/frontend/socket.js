// The chat socket for one session: authenticates with its first frame (never a token in the URL), renews that
// login before the token expires (the server closes a socket whose token expired), keeps itself alive with
// pings, and reconnects with exponential backoff after a drop.
//
// States (shown by the connection indicator): idle, connecting, connected, reconnecting, offline.

const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_NOT_FOUND = 4404;
const CLOSE_RATE_LIMITED = 4429;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15_000;
const RATE_LIMITED_DELAY_MS = 30_000;
const PING_EVERY_MS = 25_000;
const RENEW_BEFORE_S = 30; // renew the socket's login this long before its token expires (or half-way, if sooner)
const RENEW_RETRY_MS = 5_000;

export class ChatSocket {
  /**
   * getToken({ fresh }): a promise of a valid access token; a newly issued one when `fresh`.
   * onFrame(frame): every server frame from `ready` on, except the socket's own login renewals.
   * onState(state, detail): connection state changes. onFatal(reason): the socket gave up for good.
   * onGone(): closed with 4404: the chat was deleted, or this person is no longer in it (removed, or left).
   */
  constructor({ sessionId, getToken, onFrame, onState, onFatal, onGone }) {
    this.sessionId = sessionId;
    this.getToken = getToken;
    this.onFrame = onFrame;
    this.onState = onState;
    this.onFatal = onFatal;
    this.onGone = onGone;
    this.ws = null;
    this.attempt = 0;
    this.closedByUs = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.renewTimer = null;
    this.authRetried = false;
    this.state = "idle";
  }

  open() {
    this.closedByUs = false;
    this.connect();
  }

  close() {
    this.closedByUs = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.renewTimer);
    clearInterval(this.pingTimer);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
    this.setState("idle");
  }

  /** Sends a frame when connected; returns false (the caller shows why) otherwise. */
  send(frame) {
    if (this.state !== "connected") return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** The network is back: skip the rest of the backoff. */
  retryNow() {
    if (this.state !== "reconnecting" || this.ws) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  setState(state, detail = "") {
    this.state = state;
    this.onState(state, detail);
  }

  async connect({ fresh = false } = {}) {
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
    let token;
    try {
      token = await this.getToken({ fresh });
    } catch (error) {
      if (error && error.name === "SessionEnded") return; // the app returns to the login page
      this.scheduleRetry();
      return;
    }
    if (this.closedByUs) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws/chat/${this.sessionId}/`);
    this.ws = ws;
    ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "auth", token })));
    ws.addEventListener("message", (event) => this.receive(event));
    ws.addEventListener("close", (event) => this.closed(ws, event));
  }

  receive(event) {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (frame.type === "ready") {
      this.attempt = 0;
      this.authRetried = false;
      this.setState("connected");
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.send({ type: "ping" }), PING_EVERY_MS);
      this.scheduleRenewal(frame.expires_in);
    } else if (frame.type === "auth.renewed") {
      this.scheduleRenewal(frame.expires_in);
      return;
    } else if (frame.type === "error" && frame.code === "token_expired") {
      return; // the 4401 close that follows reconnects with a new token
    }
    this.onFrame(frame);
  }

  scheduleRenewal(expiresInSeconds) {
    clearTimeout(this.renewTimer);
    const delay = Math.max(expiresInSeconds - RENEW_BEFORE_S, expiresInSeconds / 2, 1);
    this.renewTimer = setTimeout(() => this.renew(), delay * 1000);
  }

  /** Sends a newly issued token over the open socket; the server answers `auth.renewed`. */
  async renew() {
    let token;
    try {
      token = await this.getToken({ fresh: true });
    } catch (error) {
      if (error && error.name === "SessionEnded") return; // the app returns to the login page
      this.renewTimer = setTimeout(() => this.renew(), RENEW_RETRY_MS); // offline for a moment: try again
      return;
    }
    if (!this.send({ type: "auth", token })) return; // not connected: the next `ready` schedules a renewal
  }

  closed(ws, event) {
    if (ws !== this.ws) return; // an older socket we already replaced
    clearInterval(this.pingTimer);
    clearTimeout(this.renewTimer);
    this.ws = null;
    if (this.closedByUs) return;
    if (event.code === CLOSE_NOT_FOUND) {
      this.setState("offline", "This chat no longer exists, or you are no longer in it.");
      this.onGone();
      return;
    }
    if (event.code === CLOSE_UNAUTHENTICATED && !this.authRetried) {
      this.authRetried = true; // the token expired in between: one immediate retry with a new one
      this.connect({ fresh: true });
      return;
    }
    if (event.code === CLOSE_UNAUTHENTICATED) {
      this.setState("offline", "The server did not accept your login.");
      this.onFatal("The server did not accept your login. Please log in again.");
      return;
    }
    this.scheduleRetry(event.code === CLOSE_RATE_LIMITED ? RATE_LIMITED_DELAY_MS : null);
  }

  scheduleRetry(delayMs = null) {
    this.attempt += 1;
    const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.attempt - 1));
    const delay = delayMs ?? backoff * (0.75 + Math.random() * 0.5); // jitter: tabs do not retry in step
    this.setState("reconnecting", `Retrying in ${Math.round(delay / 1000)} s`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}
