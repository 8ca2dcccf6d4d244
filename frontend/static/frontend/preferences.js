// The preferences panel: model (from /api/models/), temperature, max tokens, persona, RAG on/off and top-k.

const NUMBERS = new Set(["temperature", "max_tokens", "rag_top_k"]);

export class PreferencesPanel {
  constructor({ api, dialog, toast }) {
    this.api = api;
    this.dialog = dialog;
    this.form = dialog.querySelector("form");
    this.error = this.form.querySelector('[data-role="error"]');
    this.toast = toast;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    this.form.querySelector('[data-role="cancel"]').addEventListener("click", () => dialog.close());
  }

  async open() {
    this.error.textContent = "";
    let preferences;
    let models;
    try {
      [preferences, models] = await Promise.all([
        this.api.get("/api/preferences/"),
        this.api.get("/api/models/").catch(() => ({ default: "", models: [] })),
      ]);
    } catch (error) {
      if (error.name !== "SessionEnded") this.toast(error.message);
      return;
    }
    this.fillModels(models, preferences.model);
    for (const name of ["temperature", "max_tokens", "system_prompt", "rag_top_k"]) {
      this.form.elements[name].value = preferences[name] ?? "";
    }
    this.form.elements.use_rag.checked = Boolean(preferences.use_rag);
    this.dialog.showModal();
  }

  fillModels(models, chosen) {
    const select = this.form.elements.model;
    const defaultOption = document.createElement("option");
    defaultOption.value = "";
    defaultOption.textContent = models.default ? `Server default (${models.default})` : "Server default";
    const options = models.models.map((model) => {
      const option = document.createElement("option");
      option.value = model.name;
      option.textContent = `${model.name} · ${model.provider}`;
      return option;
    });
    if (chosen && !models.models.some((m) => m.name === chosen)) {
      const missing = document.createElement("option");
      missing.value = chosen;
      missing.textContent = `${chosen} (not available now)`;
      options.push(missing);
    }
    select.replaceChildren(defaultOption, ...options);
    select.value = chosen || "";
  }

  async save() {
    const changes = {};
    for (const element of this.form.elements) {
      if (!element.name) continue;
      if (element.type === "checkbox") changes[element.name] = element.checked;
      else if (NUMBERS.has(element.name)) changes[element.name] = element.value === "" ? null : Number(element.value);
      else changes[element.name] = element.value;
    }
    for (const [name, value] of Object.entries(changes)) if (value === null) delete changes[name];
    try {
      await this.api.patch("/api/preferences/", changes);
    } catch (error) {
      this.error.textContent = error.message;
      return;
    }
    this.dialog.close();
    this.toast("Preferences saved.");
  }
}
