// Memory: the memory page (list, add, edit, delete, turn memory off), the "used memories" line under answers,
// and the chat's memory frames (a "remember ..." saved, facts the model proposes after an answer).

/** The signed-in person's memories by id: the page, the lines under answers and the frames share them. */
class MemoryStore {
  constructor() {
    this.api = null;
    this.byId = new Map();
  }

  async load() {
    const list = await this.api.get("/api/memories/");
    this.byId = new Map(list.map((memory) => [memory.id, memory]));
    return list;
  }

  add(memory) {
    this.byId.set(memory.id, memory);
  }

  async create(content) {
    const memory = await this.api.post("/api/memories/", { content });
    this.add(memory);
    return memory;
  }

  async update(id, content) {
    const memory = await this.api.patch(`/api/memories/${id}/`, { content });
    this.add(memory);
    return memory;
  }

  /** Gone from the server (and so from the next answer's prompt), and from every line that shows it. */
  async remove(id) {
    await this.api.delete(`/api/memories/${id}/`);
    this.byId.delete(id);
    for (const item of document.querySelectorAll(`[data-testid="used-memory"][data-memory-id="${id}"]`)) {
      const line = item.closest('[data-testid="used-memories"]');
      item.remove();
      if (line && !line.querySelector('[data-testid="used-memory"]')) line.remove();
    }
  }
}

export const memories = new MemoryStore();

/** The line under an answer naming the memories its prompt carried, each removable; null when none is known
 * here (none used, or, in a shared chat, another person's). */
export function usedMemoriesLine(message) {
  const used = (message.memories_used || []).map((id) => memories.byId.get(id)).filter(Boolean);
  if (!used.length) return null;
  const line = document.createElement("p");
  line.className = "used-memories";
  line.dataset.testid = "used-memories";
  line.append("Used memories: ");
  for (const memory of used) {
    const item = document.createElement("span");
    item.className = "used-memory";
    item.dataset.testid = "used-memory";
    item.dataset.memoryId = memory.id;
    const text = document.createElement("span");
    text.textContent = memory.content;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link-button";
    remove.dataset.testid = "used-memory-remove";
    remove.textContent = "✕";
    remove.title = "Forget this";
    remove.setAttribute("aria-label", `Forget: ${memory.content}`);
    remove.addEventListener("click", () => memories.remove(memory.id).catch((error) => alertOf(line, error)));
    item.append(text, remove);
    line.append(item);
  }
  return line;
}

/** `memory.saved` and `memory.proposed`, for the chat page. */
export class MemoryFrames {
  constructor({ root, toast }) {
    this.root = root;
    this.toast = toast;
  }

  handle(frame) {
    if (frame.type === "memory.saved") {
      memories.add(frame.memory);
      this.toast(`Remembered: ${frame.memory.content}`);
      return;
    }
    if (frame.type === "memory.proposed" && frame.proposals.length) this.propose(frame);
  }

  /** Proposed facts under the answer: each saved only if the person accepts it. */
  propose(frame) {
    const answer = this.root.querySelector(`[data-testid="assistant-message"][data-message-id="${frame.message_id}"]`);
    if (!answer) return;
    const box = document.createElement("div");
    box.className = "memory-proposals";
    box.dataset.testid = "memory-proposals";
    const title = document.createElement("p");
    title.textContent = "Remember for later chats?";
    box.append(title);
    for (const content of frame.proposals) {
      const row = document.createElement("p");
      row.dataset.testid = "memory-proposal";
      const text = document.createElement("span");
      text.textContent = content;
      const accept = button("Remember", "memory-accept");
      const dismiss = button("Dismiss", "memory-dismiss");
      accept.addEventListener("click", async () => {
        try {
          await memories.create(content);
        } catch (error) {
          this.toast(error.message);
          return;
        }
        row.replaceChildren(`Remembered: ${content}`);
        row.dataset.state = "accepted";
      });
      dismiss.addEventListener("click", () => row.remove());
      row.append(text, " ", accept, " ", dismiss);
      box.append(row);
    }
    answer.append(box);
  }
}

/** The memory page. */
export class MemoryPage {
  constructor({ api, root, confirm, toast }) {
    this.api = api;
    this.root = root;
    this.confirm = confirm;
    this.toast = toast;
    this.list = root.querySelector('[data-testid="memory-list"]');
    this.error = root.querySelector('[data-testid="memory-error"]');
    this.enabled = root.querySelector('[data-testid="memory-enabled"]');
    this.auto = root.querySelector('[data-testid="memory-auto"]');
    const form = root.querySelector('[data-testid="memory-add-form"]');
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.add(form);
    });
    for (const box of [this.enabled, this.auto]) box.addEventListener("change", () => this.savePreferences());
    root.querySelector('[data-testid="memory-export"]').addEventListener("click", () => this.export());
    this.list.addEventListener("click", (event) => this.click(event));
    this.list.addEventListener("submit", (event) => {
      event.preventDefault();
      this.saveEdit(event.target);
    });
  }

  async show() {
    this.error.textContent = "";
    try {
      const [list, preferences] = await Promise.all([memories.load(), this.api.get("/api/preferences/")]);
      this.enabled.checked = preferences.memory_enabled;
      this.auto.checked = preferences.memory_auto;
      this.render(list);
    } catch (error) {
      if (error.name !== "SessionEnded") this.toast(error.message);
    }
  }

  render(list) {
    this.list.replaceChildren(...list.map((memory) => this.item(memory)));
    this.root.querySelector('[data-testid="memory-empty"]').hidden = list.length > 0;
  }

  item(memory) {
    const item = document.createElement("li");
    item.dataset.testid = "memory-item";
    item.dataset.memoryId = memory.id;
    const text = document.createElement("span");
    text.className = "memory-content";
    text.dataset.testid = "memory-content";
    text.textContent = memory.content;
    item.append(text, button("Edit", "memory-edit", "edit"), button("Delete", "memory-delete", "delete"));
    return item;
  }

  async add(form) {
    const input = form.elements.content;
    this.error.textContent = "";
    try {
      await memories.create(input.value);
    } catch (error) {
      this.error.textContent = error.message;
      return;
    }
    input.value = "";
    this.render([...memories.byId.values()].sort((a, b) => b.id - a.id));
  }

  async click(event) {
    const action = event.target.closest("[data-action]")?.dataset.action;
    const item = event.target.closest('[data-testid="memory-item"]');
    if (!action || !item) return;
    const id = Number(item.dataset.memoryId);
    if (action === "delete") {
      if (!(await this.confirm("Forget this memory?"))) return;
      try {
        await memories.remove(id);
      } catch (error) {
        this.error.textContent = error.message;
        return;
      }
      item.remove();
      this.root.querySelector('[data-testid="memory-empty"]').hidden = memories.byId.size > 0;
    } else if (action === "edit") {
      const form = document.createElement("form");
      form.className = "memory-edit";
      const input = document.createElement("input");
      input.name = "content";
      input.maxLength = 500;
      input.value = memories.byId.get(id)?.content || "";
      input.dataset.testid = "memory-edit-input";
      input.setAttribute("aria-label", "Memory");
      const save = button("Save", "memory-save");
      save.type = "submit";
      form.append(input, save);
      item.replaceChildren(form);
      input.focus();
    }
  }

  async saveEdit(form) {
    const item = form.closest('[data-testid="memory-item"]');
    try {
      const memory = await memories.update(Number(item.dataset.memoryId), form.elements.content.value);
      item.replaceWith(this.item(memory));
    } catch (error) {
      this.error.textContent = error.message;
    }
  }

  async savePreferences() {
    try {
      await this.api.patch("/api/preferences/", {
        memory_enabled: this.enabled.checked, memory_auto: this.auto.checked,
      });
      this.toast(this.enabled.checked ? "Memory is on." : "Memory is off: nothing is saved or used.");
    } catch (error) {
      this.error.textContent = error.message;
    }
  }

  async export() {
    try {
      const body = await this.api.get("/api/memories/export/");
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([JSON.stringify(body, null, 2)], { type: "application/json" }));
      link.download = "memories.json";
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (error) {
      this.error.textContent = error.message;
    }
  }
}

function button(label, testid, action = "") {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.dataset.testid = testid;
  if (action) element.dataset.action = action;
  return element;
}

function alertOf(element, error) {
  element.title = error.message;
}
