// The app: routes (/, /documents/, /verify-email/), wiring between the pieces, and the one dispatcher on
// frame.type. State lives in these objects, never in window globals; tests read the DOM (data-testid,
// data-state).

import { ApiClient } from "./api.js";
import { ComposerAttachments, useAttachmentApi } from "./attachments.js";
import { AuthPages } from "./auth.js";
import { ChatView } from "./chat_view.js";
import { asksAssistant, ComposerHint } from "./composer.js";
import { DocumentsPage } from "./documents.js";
import { MemoryFrames, MemoryPage, memories } from "./memory.js";
import { PersonaPickers, PersonasPage, personas } from "./personas.js";
import { MembersPanel } from "./members.js";
import { PreferencesPanel } from "./preferences.js";
import { SessionList } from "./sessions.js";
import { ChatSocket } from "./socket.js";
import { TypingIndicator, TypingSignal } from "./typing.js";
import { UsagePage } from "./usage.js";

const $ = (selector) => document.querySelector(selector);
const HISTORY_PAGE_SIZE = 50; // a screen or several: the newest page shows at once, older ones come on scrolling up
const STATE_LABELS = {
  idle: "Not connected",
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

class App {
  constructor() {
    this.api = new ApiClient({ onSessionEnded: (reason) => this.signedOut(reason) });
    this.socket = null;
    this.session = null;
    this.busy = false;
    this.everConnected = false;
    this.olderUrl = null; // the page of history before the first one shown
    this.me = null; // the signed-in person's username
    this.starting = false; // a first message is creating its chat
    this.checkStale = false; // see dispatch's `presence`
    this.composer = $("#composer-input");
    this.auth = new AuthPages({
      api: this.api, root: $("#auth-view"), verifyRoot: $("#verify-view"), onLoggedIn: () => this.signedIn(),
    });
    this.chat = new ChatView({
      root: $("#messages"),
      toast: (text) => this.toast(text),
      onCitation: (source) => this.showCitation(source),
      onRegenerate: () => this.regenerate(),
      onNeedOlder: () => this.loadOlder(),
    });
    this.sessions = new SessionList({
      api: this.api, list: $("#session-list"), searchForm: $("#history-search"), searchResults: $("#search-results"),
      newButton: $("#new-chat"), confirm: (question) => this.confirm(question), toast: (text) => this.toast(text),
      onOpen: (session, options) => this.openSession(session, options),
      onDeleted: (id) => this.sessionDeleted(id),
    });
    this.documents = new DocumentsPage({
      api: this.api, list: $("#document-list"), empty: $("#documents-empty"), dropzone: $("#dropzone"),
      input: $("#file-input"), confirm: (question) => this.confirm(question), toast: (text) => this.toast(text),
    });
    this.usage = new UsagePage({ api: this.api, root: $("#usage-view"), toast: (text) => this.toast(text) });
    this.preferences = new PreferencesPanel({
      api: this.api, dialog: $("#preferences-dialog"), toast: (text) => this.toast(text),
    });
    this.members = new MembersPanel({
      api: this.api, head: $("#conversation-head"), dialog: $("#members-dialog"),
      confirm: (question, options) => this.confirm(question, options), toast: (text) => this.toast(text),
      onChange: () => this.roomChanged(),
      onSessionChanged: (session) => this.sessionChanged(session),
      onLeft: (id) => this.sessionGone(id),
    });
    this.typing = new TypingIndicator($("#typing"));
    this.typingSignal = new TypingSignal((frame) => Boolean(this.socket?.send(frame)));
    this.composerHint = new ComposerHint({ input: this.composer, hint: $("#composer-hint") });
    useAttachmentApi(this.api);
    this.images = new ComposerAttachments({
      api: this.api, form: $("#composer"), input: this.composer, toast: (text) => this.toast(text),
    });
    this.bindPersonasAndMemory();
    this.bindChrome();
    this.bindComposer();
  }

  // --- Routes ---------------------------------------------------------------------------------------

  async start() {
    if (location.pathname === "/verify-email/") {
      this.show("verify");
      await this.auth.verify();
      return;
    }
    if (!this.api.loggedIn) {
      this.show("auth");
      return;
    }
    try {
      await this.api.accessToken(); // the stored refresh token still works: stay logged in
    } catch {
      this.show("auth");
      return;
    }
    await this.signedIn();
  }

  async route() {
    if (!this.api.loggedIn) {
      this.show("auth");
      return;
    }
    if (location.pathname === "/documents/") {
      this.show("documents");
      await this.documents.show();
      return;
    }
    const page = { "/personas/": "personas", "/memory/": "memory" }[location.pathname];
    if (page) {
      this.documents.hide();
      this.show(page);
      await (page === "personas" ? this.personasPage : this.memoryPage).show();
      return;
    }
    this.documents.hide();
    if (this.usage.handles(location.pathname)) {
      this.show("usage");
      await this.usage.show(location.pathname);
      return;
    }
    this.usage.hide();
    this.show("chat");
    const wanted = Number(new URLSearchParams(location.search).get("s"));
    if (wanted && wanted !== this.session?.id) {
      try {
        await this.sessions.open(wanted);
      } catch {
        this.toast("That chat does not exist or was deleted.");
        history.replaceState(null, "", "/");
      }
    }
  }

  navigate(path) {
    if (path !== location.pathname + location.search) history.pushState(null, "", path);
    this.route();
  }

  show(view) {
    document.body.dataset.view = view;
    for (const name of ["auth", "verify", "chat", "documents", "usage"]) $(`#${name}-view`).hidden = name !== view;
    for (const name of ["personas", "memory"]) $(`#${name}-view`).hidden = name !== view;
    const signedIn = !["auth", "verify"].includes(view);
    for (const element of document.querySelectorAll("[data-needs-auth]")) element.hidden = !signedIn;
    for (const link of document.querySelectorAll(".main-nav a")) {
      link.setAttribute("aria-current", link.pathname === location.pathname ? "page" : "false");
    }
    this.closeSidebar();
  }

  async signedIn() {
    if (location.pathname === "/verify-email/") history.replaceState(null, "", "/");
    this.banner("");
    try {
      const me = await this.api.get("/api/auth/me/");
      this.me = this.chat.me = this.members.me = this.sessions.me = me.username;
      await Promise.all([this.sessions.load(), memories.load(), personas.load()]);
    } catch (error) {
      if (error.name !== "SessionEnded") this.toast(error.message);
      return;
    }
    this.usage.revealInsights($("#nav-insights")); // not awaited: the page does not wait for it
    await this.route();
  }

  signedOut(reason) {
    this.closeSocket();
    this.documents.hide();
    this.session = null;
    this.members.close();
    this.chat.clear();
    this.show("auth");
    if (reason) this.banner(reason);
  }

  // --- Sessions and the socket --------------------------------------------------------------------

  /** `firstMessage` ({clientId, content}): typed before the chat existed, sent once its socket is ready. */
  async openSession(session, { keepSocket = false, firstMessage = null } = {}) {
    this.session = session;
    this.sessions.setActive(session.id);
    if (location.pathname !== "/" || new URLSearchParams(location.search).get("s") !== String(session.id)) {
      history.pushState(null, "", `/?s=${session.id}`);
      if (document.body.dataset.view !== "chat") this.route();
    }
    document.title = `${session.title || "New chat"} · Realtime Chat`;
    $("#conversation-empty").hidden = true;
    this.closeSidebar();
    this.personaPickers.show(session);
    if (keepSocket && this.socket) {
      this.members.update(session);
      return;
    }
    this.closeSocket();
    this.typing.reset();
    this.members.open(session);
    this.setBusy(false);
    this.olderUrl = null;
    this.chat.clear();
    await this.loadHistory();
    if (this.session !== session) return; // another chat was opened while this one loaded
    if (firstMessage) {
      this.chat.addPending(firstMessage.clientId, firstMessage.content); // sent when the socket is ready
      if (asksAssistant(session.assistant_mode, firstMessage.content)) this.setBusy(true);
    }
    this.everConnected = false;
    this.socket = new ChatSocket({
      sessionId: session.id,
      getToken: ({ fresh }) => (fresh ? this.api.refresh() : this.api.accessToken()),
      onFrame: (frame) => this.dispatch(frame),
      onState: (state, detail) => this.connectionState(state, detail),
      onFatal: (reason) => this.toast(reason),
      onGone: () => this.sessionGone(session.id),
    });
    this.socket.open();
    // Ready to type, unless the person is already typing elsewhere (the history search, while the chat loads).
    if (!isTextField(document.activeElement)) this.composer.focus();
  }

  /** The newest page of history; with `catchUp` (after a reconnect), merged into what is shown. */
  async loadHistory({ catchUp = false } = {}) {
    const { session } = this;
    const page = await this.api.get(
      `/api/sessions/${session.id}/messages/?order=newest&page_size=${HISTORY_PAGE_SIZE}`,
    );
    if (this.session !== session) return;
    const messages = page.results.reverse(); // the API pages newest first; the view reads oldest first
    if (catchUp && this.chat.overlaps(messages)) {
      this.chat.catchUp(messages); // the older pages shown stay, and so does the link to the page before them
    } else {
      this.olderUrl = localPath(page.next);
      this.chat.setHistory(messages, { hasOlder: Boolean(page.next) });
    }
    this.setBusy(this.chat.streaming() || messages.some((m) => m.status === "streaming"));
  }

  /** The page before the first one shown, asked for by the view as the reader scrolls up. */
  async loadOlder() {
    const { session, olderUrl } = this;
    if (!olderUrl) return;
    try {
      const page = await this.api.get(olderUrl);
      if (this.session !== session || this.olderUrl !== olderUrl) return; // another chat, or history started over
      this.olderUrl = localPath(page.next);
      this.chat.prependHistory(page.results.reverse(), { hasOlder: Boolean(page.next) });
    } catch (error) {
      if (this.session !== session) return;
      this.chat.olderFailed();
      if (error.name !== "SessionEnded") this.toast(error.message);
    }
  }

  closeSocket() {
    if (this.socket) this.socket.close();
    this.socket = null;
  }

  sessionDeleted(id, notice = "") {
    if (this.session?.id !== id) return;
    this.closeSocket();
    this.session = null;
    this.members.close();
    this.typing.reset();
    this.chat.clear();
    this.setBusy(false);
    $("#conversation-empty").hidden = false;
    $("#conversation-notice").textContent = notice;
    $("#conversation-notice").hidden = !notice;
    document.title = "Realtime Chat";
    history.pushState(null, "", "/");
  }

  /** The chat closed its socket with 4404, or this person left it: it is off the list, and they are told. */
  sessionGone(id) {
    const session = this.sessions.find(id) || (this.session?.id === id ? this.session : null);
    const title = `“${session?.title || "New chat"}”`;
    const left = this.members.leaving === id;
    const notice = left ? `You left ${title}.` : `${title} was deleted, or you are no longer in it.`;
    this.sessions.forget(id);
    if (this.session?.id !== id) return;
    this.sessionDeleted(id, notice);
    this.toast(notice);
  }

  /** The owner changed the open chat (its assistant mode, say). */
  sessionChanged(session) {
    this.sessions.sessions = this.sessions.sessions.map((s) => (s.id === session.id ? session : s));
    this.sessionsRefreshed();
  }

  /** The list of chats was fetched again: the open one may have a new title or mode. Updated in place: the
   * open chat stays the same object (loads in flight compare it). */
  sessionsRefreshed() {
    const fresh = this.session && this.sessions.find(this.session.id);
    if (!fresh || (fresh.title === this.session.title && fresh.assistant_mode === this.session.assistant_mode)) return;
    Object.assign(this.session, fresh);
    document.title = `${fresh.title || "New chat"} · Realtime Chat`;
    this.members.update(this.session);
  }

  /** My role, the assistant's mode or the people of the chat changed: what the composer offers follows. */
  roomChanged() {
    this.chat.root.dataset.shared = String(this.members.shared);
    this.chat.root.dataset.readonly = String(!this.composerWritable()); // a viewer regenerates nothing
    this.setBusy(this.busy);
  }

  /** The one place server frames are handled. */
  dispatch(frame) {
    switch (frame.type) {
      case "ready":
        return this.ready();
      case "pong":
        return undefined;
      case "presence":
        this.members.presence(frame.online);
        // The server sends a running answer's snapshot between `ready` and the first presence frame: an answer
        // still shown as streaming without one ended while the page loaded, and its end was never sent here.
        if (this.checkStale && this.chat.staleAnswers()) this.catchUp();
        this.checkStale = false;
        return undefined;
      case "typing":
        return this.typing.show(frame.user);
      case "message.created":
        if (frame.message.author) this.typing.clear(frame.message.author);
        this.chat.messageCreated(frame);
        return this.sessions.refresh().then(() => this.sessionsRefreshed());
      case "assistant.queued":
        this.setBusy(true);
        return this.chat.assistantQueued(frame);
      case "assistant.start":
        this.setBusy(true);
        return this.chat.assistantStart(frame);
      case "assistant.snapshot":
        this.setBusy(true);
        return this.chat.assistantSnapshot(frame);
      case "token":
        return this.chat.token(frame);
      case "sources":
        return this.chat.sources(frame);
      case "assistant.end":
        this.setBusy(false);
        return this.chat.assistantEnd(frame);
      case "memory.saved":
      case "memory.proposed":
        return this.memoryFrames.handle(frame);
      case "error":
        this.chat.error(frame);
        if (frame.client_id && !this.chat.streaming()) this.setBusy(false); // the message was refused
        return undefined;
      default:
        return assertNever(frame);
    }
  }

  /** After a reconnect, catch up on what happened meanwhile; then send what never arrived (or was typed before
   * the chat existed). */
  async ready() {
    const reconnected = this.everConnected;
    this.everConnected = true;
    this.checkStale = !reconnected;
    if (reconnected && !(await this.catchUp())) return;
    for (const { clientId, content } of this.chat.unconfirmed()) {
      this.socket.send({ type: "message", content, client_id: clientId });
    }
  }

  /** The newest page of history merged into what is shown; false if it could not be fetched. */
  async catchUp() {
    try {
      await this.loadHistory({ catchUp: true });
      return true;
    } catch (error) {
      if (error.name !== "SessionEnded") this.toast(error.message);
      return false;
    }
  }

  connectionState(state, detail) {
    const indicator = $("#connection-state");
    indicator.dataset.state = state;
    indicator.querySelector(".label").textContent = STATE_LABELS[state];
    indicator.title = detail || STATE_LABELS[state];
    this.setComposerEnabled(state === "connected");
  }

  // --- Composer -------------------------------------------------------------------------------------

  bindComposer() {
    const form = $("#composer");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send(this.composer.value);
    });
    this.composer.addEventListener("keydown", (event) => {
      // Enter sends; Shift+Enter is a new line; never while an input method is composing text.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send(this.composer.value);
      }
    });
    this.composer.addEventListener("input", () => {
      this.fitComposer();
      // Others see "… is typing" (the signal goes out at most once per 2 s); alone in a chat, nobody would.
      if (this.session && this.members.shared && this.composer.value.trim()) this.typingSignal.typed();
    });
    $("#stop").addEventListener("click", () => this.socket?.send({ type: "stop" }));
  }

  send(text) {
    const content = text.trim();
    if ((!content && !this.images.any) || this.starting || this.composer.disabled) return;
    if (this.images.uploading) {
      this.toast("An image is still uploading: send again in a moment.");
      return;
    }
    if (!this.session) {
      if (content) this.startChat(content); // the images wait in the box for the chat's next message
      else this.toast("Start the chat with a message; the images then go with your next one.");
      return;
    }
    const answered = asksAssistant(this.members.mode, content);
    if (!this.socket || (this.busy && answered)) {
      if (this.busy && this.talkWhileBusy()) this.toast("The assistant is still answering: wait, or stop it.");
      return;
    }
    const clientId = uuid4();
    const attachments = this.images.ids();
    const frame = { type: "message", content, client_id: clientId, ...(attachments.length ? { attachments } : {}) };
    if (!this.socket.send(frame)) {
      this.toast("Not connected yet: your message is still in the box.");
      return;
    }
    this.images.clear();
    this.chat.addPending(clientId, content);
    this.composer.value = "";
    this.fitComposer();
    if (answered) this.setBusy(true);
  }

  /** Typed with no chat open: the chat is created and opened, and the message goes once its socket is ready. */
  async startChat(content) {
    this.starting = true;
    const typed = this.composer.value;
    this.composer.value = ""; // shown as the chat's first message once it opens
    this.fitComposer();
    this.setComposerEnabled(false);
    try {
      const session = await this.sessions.create({ firstMessage: { clientId: uuid4(), content } });
      if (!session && !this.composer.value) {
        this.composer.value = typed; // not created: the message is back in the box
        this.fitComposer();
      }
    } finally {
      this.starting = false;
      this.setComposerEnabled(this.socket?.state === "connected");
    }
  }

  regenerate() {
    const question = this.chat.lastQuestion();
    if (question) this.send(question);
  }

  setBusy(busy) {
    this.busy = busy;
    $("#stop").hidden = !busy || !this.composerWritable();
    $("#send").hidden = busy && !this.talkWhileBusy();
    this.setComposerEnabled(this.socket?.state === "connected");
  }

  /** In `mention` mode, messages to the people of the chat do not wait for the assistant's answer. */
  talkWhileBusy() {
    return Boolean(this.session) && this.members.mode === "mention";
  }

  /** A viewer reads only: no message, no Stop. */
  composerWritable() {
    return !this.session || this.members.role !== "viewer";
  }

  setComposerEnabled(connected) {
    const hasSession = Boolean(this.session);
    const role = hasSession ? this.members.role : "owner";
    const writable = this.composerHint.show({ hasSession, role, mode: this.members.mode });
    this.composer.disabled = !writable;
    const waiting = hasSession ? !connected || (this.busy && !this.talkWhileBusy()) : false;
    $("#send").disabled = !writable || waiting || this.starting;
  }

  fitComposer() {
    this.composer.style.height = "auto";
    this.composer.style.height = `${Math.min(this.composer.scrollHeight, 200)}px`;
  }

  /** Personas and memory (personas.js, memory.js): their pages, the pickers, and the memory frames. */
  bindPersonasAndMemory() {
    memories.api = personas.api = this.api;
    const common = { api: this.api, confirm: (question) => this.confirm(question), toast: (text) => this.toast(text) };
    this.personasPage = new PersonasPage({ ...common, root: $("#personas-view") });
    this.memoryPage = new MemoryPage({ ...common, root: $("#memory-view") });
    this.memoryFrames = new MemoryFrames({ root: $("#messages"), toast: (text) => this.toast(text) });
    this.personaPickers = new PersonaPickers({
      api: this.api, newChat: $("#new-chat-persona"), header: $("#session-persona"), toast: (text) => this.toast(text),
    });
    this.sessions.newSessionFields = () => this.personaPickers.newChatFields();
  }

  // --- Chrome: navigation, theme, sidebar, dialogs, toasts --------------------------------------------

  bindChrome() {
    document.addEventListener("click", (event) => {
      const link = event.target.closest("a[data-route]");
      if (!link || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      if (link.pathname === "/" && link.search === "" && this.session) this.navigate(`/?s=${this.session.id}`);
      else this.navigate(link.pathname + link.search);
    });
    window.addEventListener("popstate", () => this.route());
    window.addEventListener("online", () => this.socket?.retryNow());
    // Back to the tab: chats shared with this person meanwhile show up (nothing else tells the page of them).
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && this.me) this.sessions.refresh().then(() => this.sessionsRefreshed());
    });
    $("#logout").addEventListener("click", async () => {
      this.closeSocket();
      await this.api.logout();
      history.pushState(null, "", "/");
      this.signedOut("You are logged out.");
    });
    $("#theme-toggle").addEventListener("click", () => toggleTheme());
    $("#preferences-open").addEventListener("click", () => this.preferences.open());
    $("#sidebar-toggle").addEventListener("click", () => {
      if (document.body.classList.contains("sidebar-open")) this.closeSidebar();
      else this.openSidebar();
    });
    $("#sidebar-scrim").addEventListener("click", () => this.closeSidebar());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.closeSidebar();
    });
  }

  openSidebar() {
    document.body.classList.add("sidebar-open");
    $("#sidebar-toggle").setAttribute("aria-expanded", "true");
    $("#sidebar-scrim").hidden = false;
    $("#new-chat").focus();
  }

  closeSidebar() {
    document.body.classList.remove("sidebar-open");
    $("#sidebar-toggle").setAttribute("aria-expanded", "false");
    $("#sidebar-scrim").hidden = true;
  }

  showCitation(source) {
    const dialog = $("#citation-dialog");
    dialog.querySelector('[data-testid="citation-title"]').textContent = `[${source.number}] ${source.title || ""}`;
    const page = dialog.querySelector('[data-testid="citation-page"]');
    page.textContent = source.page ? `Page ${source.page}` : "";
    page.hidden = !source.page;
    dialog.querySelector('[data-testid="citation-snippet"]').textContent = source.snippet || "";
    dialog.showModal();
  }

  /** A promise of true when the user confirms; a <dialog>, not window.confirm, so it can be styled and tested. */
  confirm(question, { ok = "Delete" } = {}) {
    const dialog = $("#confirm-dialog");
    dialog.querySelector('[data-role="question"]').textContent = question;
    dialog.querySelector('[data-role="ok"]').textContent = ok;
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    });
  }

  toast(text) {
    const toast = document.createElement("div");
    toast.className = "toast";
    toast.dataset.testid = "toast";
    toast.setAttribute("role", "status");
    toast.textContent = text;
    $("#toasts").append(toast);
    setTimeout(() => toast.remove(), 6000);
  }

  banner(text) {
    const banner = $("#banner");
    banner.textContent = text;
    banner.hidden = !text;
  }
}

/** Every server frame type is handled above; reaching here is a protocol change this page does not know. */
function assertNever(frame) {
  throw new Error(`Unhandled server frame type: ${JSON.stringify(frame.type)}`);
}

/** A `next` link of the API as a path on this site (the page may be served under another host name). */
function localPath(link) {
  if (!link) return null;
  const url = new URL(link);
  return url.pathname + url.search;
}

function isTextField(element) {
  return Boolean(element) && (element.matches("input, textarea") || element.isContentEditable);
}

function toggleTheme() {
  const root = document.documentElement;
  const current = root.dataset.theme || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  const next = current === "dark" ? "light" : "dark";
  root.dataset.theme = next;
  try {
    localStorage.setItem("theme", next);
  } catch {
    // storage disabled: the choice lasts for this page
  }
}

/** crypto.randomUUID needs a secure context; a LAN address over plain http is not one. */
function uuid4() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

new App().start();
