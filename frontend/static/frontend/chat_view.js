// The conversation: history, the user's pending messages, the streaming answer, sources and citations.
// Model and user text only reach the page through textContent or the escaping Markdown renderer.

import { renderMarkdown } from "./markdown.js";

const NEAR_BOTTOM_PX = 80;

export class ChatView {
  /** onCitation(source) opens a passage; onRegenerate() re-asks the last question. */
  constructor({ root, onCitation, onRegenerate, toast }) {
    this.root = root;
    this.onCitation = onCitation;
    this.onRegenerate = onRegenerate;
    this.toast = toast;
    this.pending = new Map(); // client_id -> {element, content}: sent, not yet confirmed by message.created
    this.answers = new Map(); // message_id -> {element, text, sources, renderQueued}
    root.addEventListener("click", (event) => this.click(event));
  }

  clear() {
    this.root.replaceChildren();
    this.pending.clear();
    this.answers.clear();
  }

  /** Renders saved history; messages still waiting for confirmation stay at the end. */
  setHistory(messages) {
    const waiting = [...this.pending.entries()];
    this.clear();
    for (const message of messages) this.append(message);
    for (const [clientId, entry] of waiting) {
      if (messages.some((m) => m.client_id === clientId)) continue;
      this.root.append(entry.element);
      this.pending.set(clientId, entry);
    }
    this.refreshRegenerate();
    this.scrollToEnd(true);
  }

  streaming() {
    return this.answers.size > 0;
  }

  unconfirmed() {
    return [...this.pending.entries()].map(([clientId, entry]) => ({ clientId, content: entry.content }));
  }

  /** The user's own message, shown at once and confirmed by message.created. */
  addPending(clientId, content) {
    const element = userMessage({ content, status: "sending" });
    element.dataset.clientId = clientId;
    this.pending.set(clientId, { element, content });
    this.root.append(element);
    this.scrollToEnd(true);
  }

  messageCreated(frame) {
    const entry = frame.client_id && this.pending.get(frame.client_id);
    if (entry) {
      this.pending.delete(frame.client_id);
      entry.element.dataset.messageId = frame.message.id;
      entry.element.dataset.status = "complete";
      return;
    }
    if (!this.root.querySelector(`[data-message-id="${Number(frame.message.id)}"]`)) {
      this.append(frame.message); // from another tab of the same session
      this.scrollToEnd(false);
    }
  }

  assistantStart(frame) {
    const element = assistantMessage({
      id: frame.message_id, content: "", status: "streaming", model: frame.model, provider: frame.provider,
      fallback_from: frame.fallback_from, sources: [],
    });
    this.answers.set(frame.message_id, { element, text: "", sources: [], renderQueued: false });
    this.root.append(element);
    this.refreshRegenerate();
    this.scrollToEnd(false);
  }

  token(frame) {
    const answer = this.answers.get(frame.message_id);
    if (!answer) return;
    answer.text += frame.delta;
    // Render at most once a frame: Markdown re-renders whole, so batching keeps long answers smooth.
    if (!answer.renderQueued) {
      answer.renderQueued = true;
      requestAnimationFrame(() => {
        answer.renderQueued = false;
        const stick = this.nearBottom();
        setBody(answer.element, answer.text, answer.sources);
        if (stick) this.scrollToEnd(true);
      });
    }
  }

  sources(frame) {
    const answer = this.answers.get(frame.message_id);
    if (!answer) return;
    answer.sources = frame.sources || [];
    setSources(answer.element, answer.sources);
  }

  assistantEnd(frame) {
    const { message } = frame;
    const stick = this.nearBottom();
    const element = assistantMessage(message);
    const existing = this.answers.get(message.id)?.element
      || this.root.querySelector(`[data-message-id="${Number(message.id)}"]`);
    if (existing) existing.replaceWith(element);
    else this.root.append(element);
    this.answers.delete(message.id);
    this.refreshRegenerate();
    if (stick) this.scrollToEnd(true);
  }

  /** An error frame as a readable line in the conversation (and on the message it refers to). */
  error(frame) {
    const entry = frame.client_id && this.pending.get(frame.client_id);
    if (entry) {
      this.pending.delete(frame.client_id);
      entry.element.dataset.status = "error";
      const note = document.createElement("p");
      note.className = "message-error";
      note.dataset.testid = "message-error";
      note.textContent = `Not sent: ${frame.detail}`;
      entry.element.append(note);
      this.scrollToEnd(false);
      return;
    }
    const notice = document.createElement("div");
    notice.className = "notice-line";
    notice.setAttribute("role", "alert");
    notice.dataset.testid = "error-notice";
    notice.dataset.code = frame.code || "error";
    notice.textContent = frame.detail || "Something went wrong.";
    this.root.append(notice);
    this.scrollToEnd(false);
  }

  append(message) {
    this.root.append(message.role === "assistant" ? assistantMessage(message) : userMessage(message));
  }

  /** Only the last answer offers "Regenerate", and only once it is finished. */
  refreshRegenerate() {
    const answers = this.root.querySelectorAll('[data-testid="assistant-message"]');
    answers.forEach((element, index) => {
      const button = element.querySelector('[data-action="regenerate"]');
      if (button) button.hidden = index !== answers.length - 1 || element.dataset.status === "streaming";
    });
  }

  lastQuestion() {
    const questions = this.root.querySelectorAll('[data-testid="user-message"]');
    const last = questions[questions.length - 1];
    return last ? last.querySelector('[data-testid="message-body"]').textContent : "";
  }

  nearBottom() {
    const { scrollHeight, scrollTop, clientHeight } = this.root;
    return scrollHeight - scrollTop - clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToEnd(force) {
    if (force || this.nearBottom()) this.root.scrollTop = this.root.scrollHeight;
  }

  click(event) {
    const target = event.target.closest("button");
    if (!target || !this.root.contains(target)) return;
    const article = target.closest("article");
    if (target.classList.contains("citation") || target.dataset.action === "source") {
      const sources = article ? JSON.parse(article.dataset.sources || "[]") : [];
      const source = sources.find((s) => String(s.number) === target.dataset.number);
      if (source) this.onCitation(source);
      else this.toast(`Source [${target.dataset.number}] is not among this answer's passages.`);
    } else if (target.dataset.action === "copy-code") {
      copyText(target.closest(".code-block").querySelector("code").textContent, target);
    } else if (target.dataset.action === "copy") {
      copyText(article.dataset.raw ?? "", target);
    } else if (target.dataset.action === "regenerate") {
      this.onRegenerate();
    }
  }
}

// --- Elements ---------------------------------------------------------------------------------------

function userMessage(message) {
  const article = shell("user", message);
  const body = article.querySelector('[data-testid="message-body"]');
  body.textContent = message.content; // never HTML: shown exactly as typed
  return article;
}

function assistantMessage(message) {
  const article = shell("assistant", message);
  setBody(article, message.content, message.sources || []);
  setSources(article, message.sources || []);
  const meta = article.querySelector('[data-testid="message-meta"]');
  const model = document.createElement("span");
  model.className = "model";
  model.dataset.testid = "message-model";
  model.textContent = [message.model, providerLabel(message.provider)].filter(Boolean).join(" · ") || "no model";
  model.title = [message.model, message.provider].filter(Boolean).join(" from ");
  meta.prepend(model);
  if (message.fallback_from && message.fallback_from.length) {
    const fallback = document.createElement("span");
    fallback.className = "badge warn";
    fallback.dataset.testid = "message-fallback";
    fallback.textContent = "fallback";
    fallback.title = `Answered by a fallback after: ${message.fallback_from.join(", ")}`;
    model.after(fallback);
  }
  const status = statusText(message);
  if (status) {
    const note = document.createElement("span");
    note.className = `badge ${message.status}`;
    note.dataset.testid = "message-status";
    note.textContent = status;
    if (message.error) note.title = message.error;
    meta.append(note);
  }
  meta.append(actionButton("Regenerate", "regenerate", "Ask the last question again"));
  return article;
}

function shell(role, message) {
  const article = document.createElement("article");
  article.className = `message ${role}`;
  article.dataset.testid = `${role}-message`;
  article.dataset.status = message.status || "complete";
  if (message.id) article.dataset.messageId = message.id;
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  const body = document.createElement("div");
  body.className = role === "assistant" ? "body markdown" : "body plain";
  body.dataset.testid = "message-body";
  bubble.append(body);
  const meta = document.createElement("footer");
  meta.className = "meta";
  meta.dataset.testid = "message-meta";
  meta.append(actionButton("Copy", "copy", "Copy this message"));
  article.append(bubble, meta);
  article.dataset.raw = message.content || "";
  return article;
}

function setBody(article, text, sources) {
  const body = article.querySelector('[data-testid="message-body"]');
  body.innerHTML = renderMarkdown(text); // safe: the renderer escapes all source text first
  article.dataset.raw = text;
  article.dataset.sources = JSON.stringify(sources || []);
}

function setSources(article, sources) {
  article.dataset.sources = JSON.stringify(sources);
  let box = article.querySelector('[data-testid="sources"]');
  if (!sources.length) {
    if (box) box.remove();
    return;
  }
  if (!box) {
    box = document.createElement("div");
    box.className = "sources";
    box.dataset.testid = "sources";
    article.querySelector(".bubble").after(box);
  }
  const label = document.createElement("span");
  label.className = "sources-label";
  label.textContent = "Sources";
  box.replaceChildren(label);
  for (const source of sources) {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = source.cited ? "source cited" : "source";
    chip.dataset.action = "source";
    chip.dataset.testid = "source";
    chip.dataset.number = source.number;
    const page = source.page ? `, p. ${source.page}` : "";
    chip.textContent = `[${source.number}] ${source.title || "Untitled"}${page}`;
    box.append(chip);
  }
}

function actionButton(label, action, title) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link-button";
  button.dataset.action = action;
  button.dataset.testid = `message-${action}`;
  button.title = title;
  button.textContent = label;
  return button;
}

/** "ollama@http://host:port" reads better as "ollama @ host:port". */
function providerLabel(provider) {
  if (!provider) return "";
  const [kind, where] = provider.split("@", 2);
  return where ? `${kind} @ ${where.replace(/^https?:\/\//, "").replace(/\/$/, "")}` : kind;
}

function statusText(message) {
  if (message.status === "cancelled") return "stopped";
  if (message.status === "error") return message.error ? `error: ${message.error}` : "error";
  return "";
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API missing (plain http on a LAN address): the old way still works.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  const label = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => {
    button.textContent = label;
  }, 1200);
}
