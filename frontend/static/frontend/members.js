// The people of the open chat: the conversation's header (its title, who is in it and who is online) and the
// members dialog, where the owner adds people by username (member or viewer), removes them and chooses when the
// assistant answers, and a member or viewer leaves. Who is online comes from the socket's `presence` frames.

export const ROLE_LABELS = { owner: "owner", member: "member", viewer: "viewer" };
const MODE_TEXT = {
  always: "The assistant answers every message.",
  mention: "The assistant answers only messages that mention @assistant.",
};
const HEAD_PEOPLE_MAX = 4; // chips shown in the header; the rest are in the dialog

export class MembersPanel {
  /**
   * onChange() is called when what the composer depends on changed (my role, the assistant's mode, whether the
   * chat is shared); onSessionChanged(session) when the owner changed the session (PATCH); onLeft(id) when I left.
   */
  constructor({ api, head, dialog, confirm, toast, onChange, onSessionChanged, onLeft }) {
    this.api = api;
    this.head = head;
    this.dialog = dialog;
    this.confirm = confirm;
    this.toast = toast;
    this.onChange = onChange;
    this.onSessionChanged = onSessionChanged;
    this.onLeft = onLeft;
    this.me = null; // my username, set by the app once known
    this.session = null;
    this.members = []; // [{username, role}], the owner first
    this.online = new Set();
    this.onlineKnown = false; // a presence frame came: it says who is online, not the list fetched before it
    this.loading = null;
    this.leaving = null; // the id of the chat I am leaving, while the server is asked
    this.part = (name) => dialog.querySelector(`[data-role="${name}"]`);
    head.querySelector('[data-role="open"]').addEventListener("click", () => this.showDialog());
    this.part("add").addEventListener("submit", (event) => {
      event.preventDefault();
      this.add();
    });
    this.part("list").addEventListener("click", (event) => this.listClick(event));
    this.part("mode").addEventListener("change", (event) => this.setMode(event.target.value));
  }

  /** My role in the open chat: known from the member list, guessed from the session's owner until it loads. */
  get role() {
    const mine = this.members.find((m) => m.username === this.me);
    if (mine) return mine.role;
    return this.session && this.session.owner === this.me ? "owner" : "member";
  }

  get shared() {
    return this.members.length > 1;
  }

  get mode() {
    return this.session?.assistant_mode || "always";
  }

  /** A chat was opened: its people are fetched; presence frames from its socket follow. */
  open(session) {
    this.session = session;
    this.members = [];
    this.online = new Set();
    this.onlineKnown = false;
    this.head.hidden = false;
    this.part("error").textContent = "";
    this.render();
    this.onChange();
    return this.reload();
  }

  /** The same chat with new data (renamed, its mode changed, or the list of chats refreshed). */
  update(session) {
    this.session = session;
    this.render();
    this.onChange();
  }

  close() {
    this.session = null;
    this.members = [];
    this.online = new Set();
    this.head.hidden = true;
    if (this.dialog.open) this.dialog.close();
  }

  async reload() {
    const { session } = this;
    if (!session) return;
    const loading = this.api.get(`/api/sessions/${session.id}/members/`);
    this.loading = loading;
    let members;
    try {
      members = await loading;
    } catch (error) {
      // A chat that is gone (404) is the socket's to report (it closes with 4404); anything else is said here.
      if (this.session === session && error.status !== 404 && error.name !== "SessionEnded") this.toast(error.message);
      return;
    } finally {
      if (this.loading === loading) this.loading = null;
    }
    if (this.session !== session) return;
    this.members = members.map(({ username, role }) => ({ username, role }));
    if (!this.onlineKnown) this.online = new Set(members.filter((m) => m.online).map((m) => m.username));
    this.render();
    this.onChange();
  }

  /** Who is online, from a `presence` frame; someone not in the list yet was just added: the list is fetched. */
  presence(online) {
    this.online = new Set(online);
    this.onlineKnown = true;
    this.render();
    if (!this.loading && online.some((name) => !this.members.some((m) => m.username === name))) this.reload();
  }

  isOnline(username) {
    return this.online.has(username);
  }

  // --- Actions -----------------------------------------------------------------------------------

  /** Opens the dialog on the list as it is now: someone may have left since it was fetched. */
  showDialog() {
    if (!this.session) return;
    this.part("error").textContent = "";
    this.dialog.showModal();
    if (this.role === "owner") this.part("add").elements.username.focus();
    this.reload();
  }

  async add() {
    const { session } = this;
    const form = this.part("add");
    const username = form.elements.username.value.trim();
    const role = form.elements.role.value;
    if (!username || !session) return;
    this.part("error").textContent = "";
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await this.api.post(`/api/sessions/${session.id}/members/`, { username, role });
      form.elements.username.value = "";
    } catch (error) {
      if (error.name !== "SessionEnded") this.part("error").textContent = readable(error);
      return;
    } finally {
      button.disabled = false;
    }
    await this.reload();
  }

  async listClick(event) {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const { username } = button.closest("li").dataset;
    if (button.dataset.action === "remove") await this.remove(username);
    else if (button.dataset.action === "leave") await this.leave();
  }

  async remove(username) {
    const { session } = this;
    if (!(await this.confirm(`Remove ${username} from “${titleOf(session)}”?`, { ok: "Remove" }))) return;
    if (!(await this.delete(session, username))) return;
    if (this.session === session) await this.reload();
  }

  async leave() {
    const { session } = this;
    const question = `Leave “${titleOf(session)}”? You will no longer see it unless the owner adds you again.`;
    if (!(await this.confirm(question, { ok: "Leave" }))) return;
    this.leaving = session.id; // the socket may close (4404) before the answer comes: it is the same news
    try {
      if (await this.delete(session, this.me)) this.onLeft(session.id);
    } finally {
      this.leaving = null;
    }
  }

  async delete(session, username) {
    this.part("error").textContent = "";
    try {
      await this.api.delete(`/api/sessions/${session.id}/members/${encodeURIComponent(username)}/`);
      return true;
    } catch (error) {
      if (error.name !== "SessionEnded") this.part("error").textContent = readable(error);
      return false;
    }
  }

  async setMode(mode) {
    const { session } = this;
    if (!session || mode === session.assistant_mode) return;
    this.part("error").textContent = "";
    try {
      const updated = await this.api.patch(`/api/sessions/${session.id}/`, { assistant_mode: mode });
      if (this.session === session) this.onSessionChanged(updated);
    } catch (error) {
      this.part("mode").value = session.assistant_mode;
      if (error.name !== "SessionEnded") this.part("error").textContent = readable(error);
    }
  }

  // --- Rendering -------------------------------------------------------------------------------------

  render() {
    if (!this.session) return;
    this.renderHead();
    this.renderDialog();
  }

  renderHead() {
    this.head.querySelector('[data-role="title"]').textContent = titleOf(this.session);
    const people = this.head.querySelector('[data-role="people"]');
    const shown = this.shared ? this.members.slice(0, HEAD_PEOPLE_MAX) : [];
    people.replaceChildren(...shown.map((member) => this.personChip(member)));
    if (this.members.length > shown.length && shown.length) {
      const more = document.createElement("li");
      more.className = "person more";
      more.textContent = `+${this.members.length - shown.length}`;
      people.append(more);
    }
    people.hidden = !shown.length;
    const button = this.head.querySelector('[data-role="open"]');
    const online = this.members.filter((m) => this.isOnline(m.username)).length;
    if (this.shared) {
      button.textContent = `People (${this.members.length})`;
      button.title = `${this.members.length} people, ${online} online`;
    } else {
      button.textContent = this.role === "owner" ? "Share" : "People";
      button.title = "Who is in this chat";
    }
  }

  personChip({ username }) {
    const chip = document.createElement("li");
    chip.className = "person";
    chip.dataset.testid = "person";
    chip.dataset.username = username;
    const online = this.isOnline(username);
    chip.dataset.online = String(online);
    chip.title = `${username}: ${online ? "online" : "offline"}`;
    chip.append(presenceDot(online), nameText(username === this.me ? "you" : username));
    return chip;
  }

  renderDialog() {
    const owner = this.role === "owner";
    this.part("title").textContent = `People in “${titleOf(this.session)}”`;
    this.part("list").replaceChildren(...this.members.map((member) => this.memberItem(member, owner)));
    this.part("add").hidden = !owner;
    const mode = this.part("mode");
    mode.value = this.mode;
    mode.closest("label").hidden = !owner;
    const modeText = this.part("mode-text");
    modeText.textContent = MODE_TEXT[this.mode] || "";
    modeText.hidden = owner;
  }

  memberItem({ username, role }, owner) {
    const item = document.createElement("li");
    item.dataset.testid = "member";
    item.dataset.username = username;
    item.dataset.role = role;
    const online = this.isOnline(username);
    item.dataset.online = String(online);
    const name = document.createElement("span");
    name.className = "member-name";
    name.append(nameText(username));
    if (username === this.me) {
      const you = document.createElement("span");
      you.className = "muted";
      you.textContent = " (you)";
      name.append(you);
    }
    const state = document.createElement("span");
    state.className = "visually-hidden";
    state.textContent = online ? ", online" : ", offline";
    name.append(state);
    const badge = document.createElement("span");
    badge.className = `badge role-${role}`;
    badge.dataset.testid = "member-role";
    badge.textContent = ROLE_LABELS[role] || role;
    item.append(presenceDot(online), name, badge);
    if (role === "owner") return item;
    if (username === this.me) item.append(memberButton("Leave", "leave", "Leave this chat"));
    else if (owner) item.append(memberButton("Remove", "remove", `Remove ${username} from this chat`));
    return item;
  }
}

function presenceDot(online) {
  const dot = document.createElement("span");
  dot.className = "presence-dot";
  dot.dataset.testid = "presence-dot";
  dot.dataset.online = String(online);
  dot.setAttribute("aria-hidden", "true");
  return dot;
}

function nameText(text) {
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = text;
  return name;
}

function memberButton(label, action, title) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link-button danger-text";
  button.dataset.action = action;
  button.dataset.testid = `member-${action}`;
  button.title = title;
  button.textContent = label;
  return button;
}

function titleOf(session) {
  return session?.title || "New chat";
}

/** An API error as a sentence: the field's own message for a refused field, else the server's detail. */
function readable(error) {
  const fields = Object.values(error.fieldErrors || {}).flat();
  return fields.length ? fields.join(" ") : error.message;
}
