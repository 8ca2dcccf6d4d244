// The sidebar: the user's chats newest first (create, rename inline, delete after confirmation), the chats
// others shared with them (marked with their owner's name), and a search over their whole history.

const SEARCH_DELAY_MS = 300;

export class SessionList {
  /** onOpen(session) shows a chat; onDeleted(id) tells the app a chat is gone. */
  constructor({ api, list, searchForm, searchResults, newButton, confirm, toast, onOpen, onDeleted }) {
    this.api = api;
    this.list = list;
    this.searchForm = searchForm;
    this.searchResults = searchResults;
    this.confirm = confirm;
    this.toast = toast;
    this.onOpen = onOpen;
    this.onDeleted = onDeleted;
    this.sessions = [];
    this.me = null; // the reader's username: only the chats they own can be renamed or deleted here
    this.activeId = null;
    this.searchTimer = null;
    this.editing = false;
    newButton.addEventListener("click", () => this.create());
    list.addEventListener("click", (event) => this.click(event));
    list.addEventListener("dblclick", (event) => {
      const item = event.target.closest("li");
      if (item && this.owned(this.find(Number(item.dataset.sessionId)))) this.startRename(item);
    });
    searchForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.search();
    });
    searchForm.q.addEventListener("input", () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.search(), SEARCH_DELAY_MS);
    });
    searchResults.addEventListener("click", (event) => {
      const hit = event.target.closest("[data-session-id]");
      if (hit) this.open(Number(hit.dataset.sessionId));
    });
  }

  async load() {
    this.sessions = await this.api.get("/api/sessions/?archived=false");
    this.render();
    return this.sessions;
  }

  find(id) {
    return this.sessions.find((s) => s.id === id) || null;
  }

  owned(session) {
    return Boolean(session) && (!session.owner || session.owner === this.me);
  }

  /** A chat this person can no longer see (they left it or were removed): off the list. */
  forget(id) {
    this.sessions = this.sessions.filter((s) => s.id !== id);
    this.render();
  }

  setActive(id) {
    this.activeId = id;
    for (const item of this.list.children) {
      const active = Number(item.dataset.sessionId) === id;
      item.classList.toggle("active", active);
      item.querySelector(".session-open").setAttribute("aria-current", active ? "page" : "false");
    }
  }

  /** A new chat, opened with `options` (see the app's openSession); null if it could not be created. */
  async create(options = {}) {
    let session;
    try {
      session = await this.api.post("/api/sessions/", { title: "", ...(this.newSessionFields?.() || {}) });
    } catch (error) {
      if (error.name !== "SessionEnded") this.toast(error.message);
      return null;
    }
    this.sessions.unshift(session);
    this.render();
    await this.onOpen(session, options);
    return session;
  }

  async open(id) {
    const session = this.find(id) || (await this.api.get(`/api/sessions/${id}/`));
    this.onOpen(session);
  }

  render() {
    if (this.editing) return; // a refresh must not wipe a title being edited; finishing the edit renders
    const items = this.sessions.map((session) => {
      const item = document.createElement("li");
      item.dataset.testid = "session-item";
      item.dataset.sessionId = session.id;
      item.classList.toggle("active", session.id === this.activeId);
      const open = document.createElement("button");
      open.type = "button";
      open.className = "session-open";
      open.dataset.testid = "session-open";
      open.textContent = session.title || "New chat";
      open.title = session.title || "New chat";
      if (!this.owned(session)) {
        // Shared with this person: only its owner renames or deletes it (a member leaves it from its people).
        const owner = document.createElement("span");
        owner.className = "session-owner";
        owner.dataset.testid = "session-owner";
        owner.textContent = session.owner;
        owner.title = `Shared by ${session.owner}`;
        open.title = `${open.title} (shared by ${session.owner})`;
        item.append(open, owner);
        return item;
      }
      const rename = iconButton("✎", "rename", `Rename “${session.title || "New chat"}”`);
      const remove = iconButton("✕", "delete", `Delete “${session.title || "New chat"}”`);
      item.append(open, rename, remove);
      return item;
    });
    this.list.replaceChildren(...items);
  }

  click(event) {
    const button = event.target.closest("button");
    const item = event.target.closest("li");
    if (!button || !item) return;
    const id = Number(item.dataset.sessionId);
    if (button.dataset.action === "rename") this.startRename(item);
    else if (button.dataset.action === "delete") this.remove(id);
    else if (button.classList.contains("session-open")) this.open(id);
  }

  startRename(item) {
    if (item.querySelector("input")) return;
    const id = Number(item.dataset.sessionId);
    const session = this.find(id);
    const input = document.createElement("input");
    input.className = "rename-input";
    input.dataset.testid = "session-rename-input";
    input.maxLength = 200;
    input.value = session?.title || "";
    input.setAttribute("aria-label", "New title");
    const open = item.querySelector(".session-open");
    open.hidden = true;
    open.after(input);
    input.focus();
    input.select();
    let done = false;
    this.editing = true;
    const finish = async (save) => {
      if (done) return;
      done = true;
      this.editing = false;
      if (save && input.value.trim() !== (session?.title || "")) await this.rename(id, input.value.trim());
      this.render();
      this.setActive(this.activeId);
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") finish(true);
      if (event.key === "Escape") finish(false);
    });
    input.addEventListener("blur", () => finish(true));
  }

  async rename(id, title) {
    try {
      const updated = await this.api.patch(`/api/sessions/${id}/`, { title });
      this.sessions = this.sessions.map((s) => (s.id === id ? updated : s));
      if (id === this.activeId) this.onOpen(updated, { keepSocket: true });
    } catch (error) {
      this.toast(error.message);
    }
  }

  async remove(id) {
    const session = this.find(id);
    if (!(await this.confirm(`Delete “${session?.title || "New chat"}” and all its messages?`))) return;
    try {
      await this.api.delete(`/api/sessions/${id}/`);
      this.sessions = this.sessions.filter((s) => s.id !== id);
      this.render();
      this.onDeleted(id);
    } catch (error) {
      this.toast(error.message);
    }
  }

  /** A message moved this chat to the top, and the first one gave it a title. */
  async refresh() {
    try {
      await this.load();
      this.setActive(this.activeId);
    } catch (error) {
      if (error.name !== "SessionEnded") this.toast(error.message);
    }
  }

  async search() {
    const query = this.searchForm.q.value.trim();
    if (!query) {
      this.searchResults.hidden = true;
      this.searchResults.replaceChildren();
      return;
    }
    let hits;
    try {
      hits = await this.api.get(`/api/search/?q=${encodeURIComponent(query)}`);
    } catch (error) {
      this.toast(error.message);
      return;
    }
    const items = hits.map((hit) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.sessionId = hit.message.session_id;
      button.dataset.testid = "search-hit";
      const title = document.createElement("strong");
      title.textContent = hit.session_title || "New chat";
      const excerpt = document.createElement("span");
      excerpt.textContent = hit.message.content.slice(0, 140);
      button.append(title, excerpt);
      item.append(button);
      return item;
    });
    if (!items.length) {
      const empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = "No messages match.";
      items.push(empty);
    }
    this.searchResults.replaceChildren(...items);
    this.searchResults.hidden = false;
  }
}

function iconButton(symbol, action, label) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "icon-button small";
  button.dataset.action = action;
  button.dataset.testid = `session-${action}`;
  button.setAttribute("aria-label", label);
  button.title = label;
  button.textContent = symbol;
  return button;
}
