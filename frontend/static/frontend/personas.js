// Personas: the personas page (create, edit, delete), the pickers (a new chat's, the open chat's header) and the
// persona's name on its answers.

const NUMBERS = ["temperature", "top_p", "max_tokens", "rag_top_k"];

/** The personas the signed-in person may use (their own and the shared ones), for the page and the pickers;
 * `me` is their username (they change their own personas, and the persona of chats they own). */
class PersonaStore {
  constructor() {
    this.api = null;
    this.list = [];
    this.listeners = [];
    this.me = null;
  }

  async load() {
    const [list, me] = await Promise.all([
      this.api.get("/api/personas/"), this.me ? { username: this.me } : this.api.get("/api/auth/me/"),
    ]);
    this.list = list;
    this.me = me.username;
    for (const listener of this.listeners) listener(this.list);
    return this.list;
  }

  onChange(listener) {
    this.listeners.push(listener);
  }
}

export const personas = new PersonaStore();

/** "as <persona>" beside an answer's model; null for an answer of the person's own settings. */
export function personaBadge(message) {
  if (!message.persona_name) return null;
  const badge = document.createElement("span");
  badge.className = "badge persona";
  badge.dataset.testid = "message-persona";
  badge.textContent = `as ${message.persona_name}`;
  return badge;
}

/** A <select> of personas: "" is the person's own preferences. */
function fillSelect(select, chosen) {
  const own = document.createElement("option");
  own.value = "";
  own.textContent = "My preferences";
  const options = personas.list.map((persona) => {
    const option = document.createElement("option");
    option.value = String(persona.id);
    option.textContent = persona.shared ? `${persona.name} (shared)` : persona.name;
    return option;
  });
  select.replaceChildren(own, ...options);
  select.value = chosen ? String(chosen) : "";
  if (select.value !== (chosen ? String(chosen) : "")) select.value = ""; // no longer usable
}

/** The new chat's picker (sent with the chat's creation) and the open chat's (its owner changes it), shown in
 * the chat's header when the page has one, else on a bar of its own above the messages. */
export class PersonaPickers {
  constructor({ api, newChat, header, toast }) {
    this.api = api;
    this.newChat = newChat;
    this.header = header;
    this.bar = header.closest('[data-testid="persona-bar"]');
    this.toast = toast;
    this.session = null;
    personas.onChange(() => this.refresh());
    header.addEventListener("change", () => this.change());
  }

  refresh() {
    fillSelect(this.newChat, this.newChat.value);
    fillSelect(this.header, this.session?.persona);
  }

  /** What a new chat is created with. */
  newChatFields() {
    return { persona: this.newChat.value ? Number(this.newChat.value) : null };
  }

  show(session) {
    this.session = session;
    const owner = session.owner === undefined || session.owner === personas.me;
    const head = document.getElementById("conversation-head");
    const label = this.header.closest("label");
    if (head && !head.contains(label)) head.querySelector('[data-role="title"]')?.after(label);
    else if (!head) this.bar.hidden = false;
    fillSelect(this.header, session.persona);
    this.header.disabled = !owner;
    label.title = owner ? "" : "Only the chat's owner chooses who answers.";
  }

  async change() {
    const { session } = this;
    if (!session) return;
    try {
      const updated = await this.api.patch(`/api/sessions/${session.id}/`, {
        persona: this.header.value ? Number(this.header.value) : null,
      });
      Object.assign(session, updated);
      const chosen = personas.list.find((p) => p.id === updated.persona);
      this.toast(chosen ? `${chosen.name} answers from now on.` : "Your own preferences answer from now on.");
    } catch (error) {
      this.header.value = session.persona ? String(session.persona) : "";
      this.toast(error.message);
    }
  }
}

/** The personas page. */
export class PersonasPage {
  constructor({ api, root, confirm, toast }) {
    this.api = api;
    this.root = root;
    this.confirm = confirm;
    this.toast = toast;
    this.list = root.querySelector('[data-testid="persona-list"]');
    this.form = root.querySelector('[data-testid="persona-form"]');
    this.error = root.querySelector('[data-testid="persona-error"]');
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    this.form.querySelector('[data-testid="persona-cancel"]').addEventListener("click", () => this.edit(null));
    this.list.addEventListener("click", (event) => this.click(event));
  }

  async show() {
    this.edit(null);
    try {
      this.render(await personas.load());
    } catch (error) {
      if (error.name !== "SessionEnded") this.toast(error.message);
    }
  }

  render(list) {
    this.list.replaceChildren(...list.map((persona) => this.item(persona)));
    this.root.querySelector('[data-testid="personas-empty"]').hidden = list.length > 0;
  }

  item(persona) {
    const item = document.createElement("li");
    item.dataset.testid = "persona-item";
    item.dataset.personaId = persona.id;
    const name = document.createElement("strong");
    name.dataset.testid = "persona-name";
    name.textContent = persona.name;
    const description = document.createElement("span");
    description.className = "muted";
    description.textContent = persona.description;
    item.append(name, " ", description);
    if (persona.shared) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = "shared";
      item.append(" ", badge);
    }
    if (persona.owner === personas.me) {
      for (const [label, action] of [["Edit", "edit"], ["Delete", "delete"]]) {
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.action = action;
        button.dataset.testid = `persona-${action}`;
        button.textContent = label;
        item.append(" ", button);
      }
    }
    return item;
  }

  async click(event) {
    const action = event.target.closest("[data-action]")?.dataset.action;
    const item = event.target.closest('[data-testid="persona-item"]');
    if (!action || !item) return;
    const persona = personas.list.find((p) => p.id === Number(item.dataset.personaId));
    if (!persona) return;
    if (action === "edit") {
      this.edit(persona);
      return;
    }
    if (!(await this.confirm(`Delete the persona “${persona.name}”? Its chats go back to your preferences.`))) return;
    try {
      await this.api.delete(`/api/personas/${persona.id}/`);
      this.render(await personas.load());
    } catch (error) {
      this.error.textContent = error.message;
    }
  }

  /** Fill the form with `persona` to edit it, or empty it for a new one. */
  edit(persona) {
    this.editing = persona;
    this.error.textContent = "";
    const { elements } = this.form;
    for (const name of ["name", "description", "system_prompt", "model", ...NUMBERS]) {
      elements[name].value = persona?.[name] ?? "";
    }
    elements.use_rag.value = persona?.use_rag === true ? "on" : persona?.use_rag === false ? "off" : "";
    elements.shared.checked = Boolean(persona?.shared);
    this.form.querySelector('[data-testid="persona-submit"]').textContent = persona ? "Save" : "Create";
    this.form.querySelector('[data-testid="persona-cancel"]').hidden = !persona;
  }

  async save() {
    const { elements } = this.form;
    const body = {
      name: elements.name.value, description: elements.description.value,
      system_prompt: elements.system_prompt.value, model: elements.model.value.trim(),
      use_rag: elements.use_rag.value === "" ? null : elements.use_rag.value === "on",
      shared: elements.shared.checked,
    };
    for (const name of NUMBERS) body[name] = elements[name].value === "" ? null : Number(elements[name].value);
    this.error.textContent = "";
    try {
      if (this.editing) await this.api.patch(`/api/personas/${this.editing.id}/`, body);
      else await this.api.post("/api/personas/", body);
      this.render(await personas.load());
      this.toast(this.editing ? "Persona saved." : "Persona created.");
      this.edit(null);
    } catch (error) {
      this.error.textContent = error.message;
    }
  }
}
