// Images in the chat: paste or drop an image into the composer (uploaded at once, previewed, removable), the
// images of a message as thumbnails (click to enlarge), and what the model did with them.
// Image bytes need the access token, which never goes in a URL: they are fetched and shown from blob: URLs.

const MAX_IMAGES = 4; // ATTACHMENTS_PER_MESSAGE
const ACCEPTED = ["image/png", "image/jpeg", "image/webp", "image/gif"];
let loader = null; // set once by the app: how to fetch an image with the user's token

/** Where thumbnails and full images come from: `api` is the app's ApiClient. */
export function useAttachmentApi(api) {
  loader = new ImageLoader(api);
}

class ImageLoader {
  constructor(api) {
    this.api = api;
    this.urls = new Map(); // path -> Promise<blob URL>, one fetch per image per page
  }

  url(path) {
    if (!this.urls.has(path)) {
      const fetched = this.fetch(path);
      fetched.catch(() => this.urls.delete(path)); // a failure is tried again next time
      this.urls.set(path, fetched);
    }
    return this.urls.get(path);
  }

  async fetch(path) {
    const send = async (token) => fetch(path, { headers: { Authorization: `Bearer ${token}` } });
    let response = await send(await this.api.accessToken());
    if (response.status === 401) response = await send(await this.api.refresh());
    if (!response.ok) throw new Error(`image ${path}: HTTP ${response.status}`);
    return URL.createObjectURL(await response.blob());
  }
}

/** The images of a message as a row of thumbnails; a click opens the image full size. */
export function attachmentStrip(attachments) {
  const strip = document.createElement("div");
  strip.className = "attachments";
  strip.dataset.testid = "message-attachments";
  for (const attachment of attachments) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "attachment-thumb";
    button.dataset.attachmentId = attachment.id;
    button.title = `Image ${attachment.width}×${attachment.height}: click to enlarge`;
    const image = document.createElement("img");
    image.alt = `Attached image (${attachment.width}×${attachment.height})`;
    image.dataset.testid = "attachment-thumbnail";
    image.width = Math.min(160, attachment.width);
    image.height = Math.round((image.width * attachment.height) / attachment.width);
    loader?.url(`/api/attachments/${attachment.id}/thumbnail/`).then((url) => { image.src = url; }, () => {
      button.classList.add("failed");
    });
    button.append(image);
    button.addEventListener("click", () => enlarge(attachment));
    strip.append(button);
  }
  return strip;
}

/** A short note on an answer whose question had images: did the model see them or read their text? */
export function imageInputNote(message) {
  if (!message.image_input) return null;
  const note = document.createElement("span");
  note.className = "badge";
  note.dataset.testid = "message-image-input";
  note.dataset.mode = message.image_input;
  if (message.image_input === "vision") {
    note.textContent = "saw the image";
    note.title = "This model can see images: it was sent the image itself.";
  } else {
    note.textContent = "read the image's text";
    note.title = "This model cannot see images: it was given the text found in the image (OCR).";
  }
  return note;
}

async function enlarge(attachment) {
  const dialog = document.createElement("dialog");
  dialog.className = "attachment-viewer";
  dialog.dataset.testid = "attachment-viewer";
  const image = document.createElement("img");
  image.alt = "Attached image";
  const close = document.createElement("button");
  close.type = "button";
  close.className = "close";
  close.textContent = "Close";
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
  dialog.addEventListener("close", () => dialog.remove());
  dialog.append(close, image);
  document.body.append(dialog);
  dialog.showModal();
  image.src = await loader.url(`/api/attachments/${attachment.id}/content/`);
}

/**
 * The composer's images: pasted or dropped onto the message box, uploaded at once, shown above it with a
 * remove button, and handed to the next message (`take`).
 */
export class ComposerAttachments {
  constructor({ api, form, input, toast }) {
    this.api = api;
    this.input = input;
    this.toast = toast;
    this.items = []; // {id, url, element} once uploaded; {id: null} while uploading
    this.tray = document.createElement("div");
    this.tray.className = "composer-attachments";
    this.tray.dataset.testid = "composer-attachments";
    this.tray.hidden = true;
    form.prepend(this.tray);
    input.addEventListener("paste", (event) => this.fromTransfer(event, event.clipboardData));
    form.addEventListener("dragover", (event) => {
      if ([...(event.dataTransfer?.types || [])].includes("Files")) event.preventDefault();
    });
    form.addEventListener("drop", (event) => this.fromTransfer(event, event.dataTransfer));
  }

  /** True while an image is still uploading: the message waits for it. */
  get uploading() {
    return this.items.some((item) => item.id === null);
  }

  /** Whether any image waits in the tray (uploaded or not). */
  get any() {
    return this.items.length > 0;
  }

  /** The uploaded images' ids, for the message being sent. */
  ids() {
    return this.items.map((item) => item.id).filter(Boolean);
  }

  /** The message went: the tray is emptied. */
  clear() {
    for (const item of this.items) item.element.remove();
    this.items = [];
    this.tray.hidden = true;
  }

  fromTransfer(event, transfer) {
    const files = [...(transfer?.files || [])].filter((file) => file.type.startsWith("image/"));
    if (!files.length) return;
    event.preventDefault();
    for (const file of files) this.add(file);
  }

  async add(file) {
    if (this.items.length >= MAX_IMAGES) {
      this.toast(`A message can carry at most ${MAX_IMAGES} images.`);
      return;
    }
    if (!ACCEPTED.includes(file.type)) {
      this.toast("Only PNG, JPEG, WebP and GIF images can be attached.");
      return;
    }
    const item = { id: null, element: this.preview(file) };
    this.items.push(item);
    const form = new FormData();
    form.append("file", file, file.name || "pasted-image");
    try {
      const attachment = await this.api.request("POST", "/api/attachments/", { form });
      item.id = attachment.id;
      item.element.dataset.attachmentId = attachment.id;
      item.element.classList.remove("uploading");
    } catch (error) {
      this.remove(item);
      this.toast(error.message || "The image could not be uploaded.");
    }
  }

  preview(file) {
    const element = document.createElement("div");
    element.className = "composer-attachment uploading";
    element.dataset.testid = "composer-attachment";
    const image = document.createElement("img");
    image.alt = "Image to send";
    image.src = URL.createObjectURL(file);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove";
    remove.title = "Remove this image";
    remove.setAttribute("aria-label", "Remove this image");
    remove.dataset.testid = "remove-attachment";
    remove.textContent = "×";
    remove.addEventListener("click", () => {
      const item = this.items.find((candidate) => candidate.element === element);
      if (item) this.remove(item);
    });
    element.append(image, remove);
    this.tray.append(element);
    this.tray.hidden = false;
    return element;
  }

  remove(item) {
    item.element.remove();
    this.items = this.items.filter((candidate) => candidate !== item);
    this.tray.hidden = this.items.length === 0;
    this.input.focus();
  }
}
