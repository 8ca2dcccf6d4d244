// The documents page: upload by drag and drop or the file picker, live ingestion progress (stage, percent, time
// left, polled while something is being ingested), cancel, retry, delete.

const POLL_MS = 1500;
const BUSY = new Set(["pending", "processing"]);
const STAGE_NAMES = {
  queued: "Queued", extracting: "Extracting text", chunking: "Splitting into passages", embedding: "Embedding",
  indexing: "Indexing",
};

export class DocumentsPage {
  constructor({ api, list, empty, dropzone, input, confirm, toast }) {
    this.api = api;
    this.list = list;
    this.empty = empty;
    this.confirm = confirm;
    this.toast = toast;
    this.documents = [];
    this.uploading = [];
    this.pollTimer = null;
    this.visible = false;
    input.addEventListener("change", () => {
      this.upload([...input.files]);
      input.value = "";
    });
    dropzone.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        input.click();
      }
    });
    for (const type of ["dragenter", "dragover"]) {
      dropzone.addEventListener(type, (event) => {
        event.preventDefault();
        dropzone.classList.add("dragging");
      });
    }
    dropzone.addEventListener("dragleave", () => dropzone.classList.remove("dragging"));
    dropzone.addEventListener("drop", (event) => {
      event.preventDefault();
      dropzone.classList.remove("dragging");
      this.upload([...(event.dataTransfer?.files || [])]);
    });
    list.addEventListener("click", (event) => {
      const button = event.target.closest("[data-action]");
      if (!button) return;
      const id = Number(button.closest("li").dataset.documentId);
      if (button.dataset.action === "delete") this.remove(id);
      else this.act(id, button.dataset.action, button);
    });
  }

  async show() {
    this.visible = true;
    await this.refresh();
  }

  hide() {
    this.visible = false;
    clearTimeout(this.pollTimer);
  }

  async refresh() {
    clearTimeout(this.pollTimer);
    try {
      const body = await this.api.get("/api/documents/");
      this.documents = Array.isArray(body) ? body : body.results || [];
    } catch (error) {
      if (error.name !== "SessionEnded") this.toast(error.message);
      return;
    }
    this.render();
    // Poll only while something is still being ingested and the page is on screen.
    if (this.visible && this.documents.some((d) => BUSY.has(d.status))) {
      this.pollTimer = setTimeout(() => this.refresh(), POLL_MS);
    }
  }

  async upload(files) {
    for (const file of files) {
      const placeholder = { id: `upload-${Math.random()}`, title: file.name, status: "uploading", progress: 0 };
      this.uploading.push(placeholder);
      this.render();
      const form = new FormData();
      form.append("file", file);
      try {
        await this.api.upload("/api/documents/", form);
      } catch (error) {
        if (error.name !== "SessionEnded") this.toast(`${file.name}: ${error.message}`);
      } finally {
        this.uploading = this.uploading.filter((u) => u !== placeholder);
      }
      await this.refresh();
    }
  }

  // Cancel or retry: the answer is the document as it is now, shown at once; polling follows the rest.
  async act(id, action, button) {
    button.disabled = true;
    try {
      const updated = await this.api.post(`/api/documents/${id}/${action}/`);
      this.documents = this.documents.map((d) => (d.id === id ? updated : d));
      this.render();
    } catch (error) {
      if (error.name !== "SessionEnded") this.toast(error.message);
    }
    await this.refresh();
  }

  async remove(id) {
    const document = this.documents.find((d) => d.id === id);
    if (!(await this.confirm(`Delete “${document?.title || "this document"}”? Answers will no longer cite it.`))) {
      return;
    }
    try {
      await this.api.delete(`/api/documents/${id}/`);
    } catch (error) {
      this.toast(error.message);
    }
    await this.refresh();
  }

  render() {
    const rows = [...this.uploading, ...this.documents].map(documentRow);
    this.list.replaceChildren(...rows);
    this.empty.hidden = rows.length > 0;
  }
}

function documentRow(doc) {
  const item = document.createElement("li");
  item.dataset.testid = "document-item";
  item.dataset.documentId = doc.id;
  item.dataset.status = doc.status;
  const title = document.createElement("span");
  title.className = "document-title";
  title.dataset.testid = "document-title";
  title.textContent = doc.title;
  const details = document.createElement("span");
  details.className = "muted small";
  details.textContent = [
    doc.kind && doc.kind.toUpperCase(),
    doc.size_bytes != null && formatSize(doc.size_bytes),
    doc.page_count && `${doc.page_count} pages`,
    doc.status === "ready" && `${doc.chunk_count} passage${doc.chunk_count === 1 ? "" : "s"}`,
  ].filter(Boolean).join(" · ");
  const status = document.createElement("span");
  status.className = `badge ${doc.status}`;
  status.dataset.testid = "document-status";
  status.dataset.status = doc.status;
  status.textContent = doc.status;
  const head = document.createElement("div");
  head.className = "document-head";
  head.append(title, status);
  item.append(head, details);
  if (doc.status !== "uploading") head.append(actions(doc));
  if (BUSY.has(doc.status) || doc.status === "uploading") item.append(...progress(doc));
  if (doc.status === "failed" && doc.error) item.append(note(doc.error, "message-error", "document-error"));
  if (doc.status === "cancelled") {
    item.append(note("Ingestion was cancelled: the document is not searched. Retry to ingest it.", "muted small",
      "document-cancelled"));
  }
  return item;
}

function progress(doc) {
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.value = doc.progress || 0;
  bar.dataset.testid = "document-progress";
  bar.setAttribute("aria-label", `Progress of ${doc.title}`);
  const text = document.createElement("span");
  text.className = "muted small";
  text.dataset.testid = "document-progress-text";
  text.dataset.stage = doc.stage || "";
  text.textContent = [
    STAGE_NAMES[doc.stage] || (doc.status === "uploading" ? "Uploading" : doc.stage),
    doc.status !== "uploading" && `${doc.progress || 0}%`,
    doc.eta_seconds != null && `about ${formatDuration(doc.eta_seconds)} left`,
  ].filter(Boolean).join(" · ");
  return [bar, text];
}

function actions(doc) {
  const box = document.createElement("span");
  box.className = "document-actions";
  if (BUSY.has(doc.status)) box.append(actionButton(doc, "cancel", "Cancel"));
  if (doc.status === "failed" || doc.status === "cancelled") box.append(actionButton(doc, "retry", "Retry"));
  const remove = actionButton(doc, "delete", "Delete");
  remove.classList.add("danger-text");
  box.append(remove);
  return box;
}

function actionButton(doc, action, label) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link-button";
  button.dataset.action = action;
  button.dataset.testid = `document-${action}`;
  button.textContent = label;
  button.setAttribute("aria-label", `${label} ${doc.title}`);
  return button;
}

function note(text, className, testid) {
  const element = document.createElement("p");
  element.className = className;
  element.dataset.testid = testid;
  element.textContent = text;
  return element;
}

function formatDuration(seconds) {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
