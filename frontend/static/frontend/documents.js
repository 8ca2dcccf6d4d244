// The documents page: upload by drag and drop or the file picker, live ingestion status, delete.

const POLL_MS = 1500;
const BUSY = new Set(["pending", "processing"]);

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
      const button = event.target.closest('[data-action="delete"]');
      if (button) this.remove(Number(button.closest("li").dataset.documentId));
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
  status.textContent = doc.status === "processing" && doc.stage ? `processing: ${doc.stage}` : doc.status;
  const head = document.createElement("div");
  head.className = "document-head";
  head.append(title, status);
  item.append(head, details);
  if (doc.status !== "uploading") head.append(deleteButton(doc));
  if (BUSY.has(doc.status) || doc.status === "uploading") {
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = doc.progress || 0;
    bar.setAttribute("aria-label", `Progress of ${doc.title}`);
    item.append(bar);
  }
  if (doc.status === "failed" && doc.error) {
    const reason = document.createElement("p");
    reason.className = "message-error";
    reason.dataset.testid = "document-error";
    reason.textContent = doc.error;
    item.append(reason);
  }
  return item;
}

function deleteButton(doc) {
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "link-button danger-text";
  remove.dataset.action = "delete";
  remove.dataset.testid = "document-delete";
  remove.textContent = "Delete";
  remove.setAttribute("aria-label", `Delete ${doc.title}`);
  return remove;
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
