// The conversation: history, the user's pending messages, the streaming answer, sources and citations.
// Model and user text only reach the page through textContent or the escaping Markdown renderer.
//
// Long chats stay fast because work is proportional to what changes: history arrives a page at a time (older
// pages go on top as the reader scrolls up, the view kept where it was), `.messages` is a block container (a
// taller last message moves nothing above it), and a streaming answer re-renders only its last, unfinished
// blocks once a frame.

import { attachmentStrip, imageInputNote } from "./attachments.js";
import { markdownSource, renderMarkdown, stableEnd } from "./markdown.js";
import { usedMemoriesLine } from "./memory.js";
import { personaBadge } from "./personas.js";

const NEAR_BOTTOM_PX = 80;
const sourceText = new WeakMap(); // article -> the message's text (for Copy), kept out of the DOM

/**
 * A streaming answer after a token frame. `answer` is `{text, length}`, `length` being `text`'s length in code
 * points, which is what the server's offsets count. A frame whose text the answer already has returns `answer`
 * itself; one that overlaps adds only its unseen end; one that starts beyond the end returns null: text is missing
 * (a gap). A frame without an offset continues at the end.
 */
export function applyToken(answer, { offset, delta }) {
  const at = offset ?? answer.length;
  if (at > answer.length) return null;
  if (at === answer.length) return { text: answer.text + delta, length: answer.length + codePoints(delta) };
  const points = Array.from(delta);
  const seen = answer.length - at;
  if (seen >= points.length) return answer;
  return { text: answer.text + points.slice(seen).join(""), length: at + points.length };
}

function codePoints(text) {
  let count = 0;
  for (const _ of text) count += 1; // a string iterates by code point
  return count;
}

/**
 * A streaming answer's body: the finished blocks are rendered once, the rest again on every update. The text only
 * grows (a prefix of the next update's), so its length tells whether there is anything new to show.
 */
export class StreamedBody {
  constructor(body) {
    this.body = body;
    this.cut = 0; // where the unfinished part of the Markdown source starts
    this.finished = 0; // how many of body's nodes show the part before `cut`
    this.shown = -1; // the length of the text shown
  }

  update(text) {
    if (text.length === this.shown) return;
    this.shown = text.length;
    const source = markdownSource(text);
    const cut = stableEnd(source, this.cut);
    while (this.body.childNodes.length > this.finished) this.body.lastChild.remove();
    if (cut > this.cut) {
      this.body.insertAdjacentHTML("beforeend", renderMarkdown(source.slice(this.cut, cut))); // escaped: see markdown.js
      this.cut = cut;
      this.finished = this.body.childNodes.length;
    }
    this.body.insertAdjacentHTML("beforeend", renderMarkdown(source.slice(cut)));
  }
}

export class ChatView {
  /**
   * onCitation(source) opens a passage; onRegenerate() re-asks the last question; onNeedOlder() is asked for the
   * page of history before the first shown (answered with prependHistory) when the reader nears the top.
   */
  constructor({ root, onCitation, onRegenerate, onNeedOlder = () => {}, toast }) {
    this.root = root;
    this.onCitation = onCitation;
    this.onRegenerate = onRegenerate;
    this.onNeedOlder = onNeedOlder;
    this.toast = toast;
    this.pending = new Map(); // client_id -> {element, content}: sent, not yet confirmed by message.created
    this.answers = new Map(); // message_id -> the streaming answer: {element, text, length, gap, body, frame}
    this.edge = historyEdge();
    this.olderState = "none"; // "more" (older pages to fetch), "loading", or "none"
    this.pinned = true; // the view follows the end (kept by scroll events, so no layout is read per frame)
    this.me = null; // the reader's username: their own messages are marked as theirs
    this.regenerateButton = null;
    root.addEventListener("click", (event) => this.click(event));
    root.addEventListener("scroll", () => this.scrolled(), { passive: true });
  }

  clear() {
    for (const answer of this.answers.values()) cancelAnimationFrame(answer.frame);
    this.root.replaceChildren(this.edge);
    this.pending.clear();
    this.answers.clear();
    this.regenerateButton = null;
    this.setOlder("none");
  }

  /** Shows the newest page of history (oldest first); messages still waiting for confirmation stay at the end. */
  setHistory(messages, { hasOlder = false } = {}) {
    const waiting = [...this.pending.entries()];
    this.clear();
    if (messages.length) this.root.append(historyPage(messages, this.me));
    for (const [clientId, entry] of waiting) {
      if (messages.some((m) => m.client_id === clientId)) continue;
      this.root.append(entry.element);
      this.pending.set(clientId, entry);
    }
    this.refreshRegenerate();
    this.scrollToEnd(true);
    this.setOlder(hasOlder ? "more" : "none");
    this.wantOlder();
  }

  /** Whether the oldest of `messages` (a newer page of history, oldest first) is shown: catchUp can merge it. */
  overlaps(messages) {
    return messages.length > 0 && Boolean(this.shown(messages[0].id));
  }

  /**
   * After a reconnect: the newest page again, overlapping what is shown. Shown messages are updated in place and
   * new ones added at the end, so a reader scrolled up stays where they are; answers streaming live are left to
   * their frames.
   */
  catchUp(messages) {
    for (const message of messages) {
      const element = this.shown(message.id);
      const entry = message.client_id && this.pending.get(message.client_id);
      if (entry) {
        this.pending.delete(message.client_id); // saved, but its message.created was lost with the socket
        entry.element.dataset.messageId = message.id;
        entry.element.dataset.status = "complete";
      } else if (!element) {
        this.append(message);
      } else if (!this.answers.has(message.id) && changed(element, message)) {
        element.replaceWith(messageElement(message, this.me));
      }
    }
    this.refreshRegenerate();
    this.scrollToEnd(false);
  }

  shown(id) {
    return this.root.querySelector(`[data-message-id="${Number(id)}"]`);
  }

  /** A page of older history (oldest first) on top, the view kept on what the reader was looking at. */
  prependHistory(messages, { hasOlder = false } = {}) {
    const { scrollHeight, scrollTop } = this.root;
    this.edge.after(historyPage(messages, this.me));
    this.setOlder(hasOlder ? "more" : "none");
    if (this.pinned) this.scrollToEnd(true);
    else this.root.scrollTop = scrollTop + this.root.scrollHeight - scrollHeight;
    this.refreshRegenerate();
    this.wantOlder();
  }

  /** The older page could not be fetched: offer it again on the next scroll. */
  olderFailed() {
    this.setOlder("more");
  }

  streaming() {
    return this.answers.size > 0;
  }

  unconfirmed() {
    return [...this.pending.entries()].map(([clientId, entry]) => ({ clientId, content: entry.content }));
  }

  /** The user's own message, shown at once and confirmed by message.created. */
  addPending(clientId, content) {
    const element = userMessage({ content, status: "sending", author: this.me }, this.me);
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
      if (frame.message.attachments?.length) {
        entry.element.querySelector('[data-testid="message-body"]').after(attachmentStrip(frame.message.attachments));
      }
      return;
    }
    if (!this.shown(frame.message.id)) {
      this.append(frame.message); // from another tab of the same session
      this.scrollToEnd(false);
    }
  }

  assistantStart(frame) {
    this.stream({
      id: frame.message_id, content: "", status: "streaming", model: frame.model, provider: frame.provider,
      fallback_from: frame.fallback_from, sources: [], persona_name: frame.persona_name,
      memories_used: frame.memories_used,
    }, 0);
  }

  /** The answer waits for a place at the model server: shown as an empty answer saying where it stands in line,
   * until assistant.start replaces it. */
  assistantQueued(frame) {
    if (!this.answers.has(frame.message_id)) {
      this.stream({
        id: frame.message_id, content: "", status: "streaming", model: "", provider: frame.provider, sources: [],
      }, 0);
    }
    const { element } = this.answers.get(frame.message_id);
    let note = element.querySelector('[data-testid="queue-position"]');
    if (!note) {
      note = document.createElement("p");
      note.className = "badge queued";
      note.dataset.testid = "queue-position";
      note.setAttribute("role", "status");
      element.append(note);
    }
    note.textContent = frame.position === 1
      ? "Waiting for the model: next in line"
      : `Waiting for the model: ${frame.position} in line`;
  }

  /** A socket joining mid-answer gets the text so far: shown in place of any older copy, then continued. */
  assistantSnapshot(frame) {
    this.stream({
      id: frame.message_id, content: frame.content, status: "streaming", model: frame.model,
      provider: frame.provider, sources: [],
    }, frame.offset);
  }

  stream(message, length) {
    const stick = this.pinned;
    const old = this.answers.get(message.id);
    if (old) cancelAnimationFrame(old.frame);
    const element = assistantMessage(message, { render: false });
    const body = new StreamedBody(element.querySelector('[data-testid="message-body"]'));
    body.update(message.content);
    const existing = old?.element || this.shown(message.id);
    if (existing) existing.replaceWith(element);
    else this.root.append(element);
    this.answers.set(message.id, { element, text: message.content, length, gap: false, body, frame: 0 });
    this.refreshRegenerate();
    if (stick) this.scrollToEnd(true);
  }

  token(frame) {
    const answer = this.answers.get(frame.message_id);
    if (!answer || answer.gap) return;
    const next = applyToken(answer, frame);
    if (next === null) {
      answer.gap = true; // text is missing: what is shown stays until assistant.end brings the whole text
      return;
    }
    if (next === answer) return;
    answer.text = next.text;
    answer.length = next.length;
    // Render at most once a frame, and only the unfinished blocks: see StreamedBody.
    if (!answer.frame) answer.frame = requestAnimationFrame(() => this.renderAnswer(answer));
  }

  renderAnswer(answer) {
    answer.frame = 0;
    const stick = this.pinned;
    answer.body.update(answer.text);
    sourceText.set(answer.element, answer.text);
    if (stick) this.scrollToEnd(true);
  }

  sources(frame) {
    const answer = this.answers.get(frame.message_id);
    if (!answer) return;
    setSources(answer.element, frame.sources || []);
  }

  /** The finished message: its body as streamed when the text is the same (no second render), else rendered. */
  assistantEnd(frame) {
    const { message } = frame;
    const stick = this.pinned;
    const answer = this.answers.get(message.id);
    let body = null;
    if (answer) {
      cancelAnimationFrame(answer.frame);
      if (!answer.gap && answer.text === message.content) {
        answer.body.update(answer.text);
        body = answer.body.body;
      }
    }
    const element = assistantMessage(message, { body });
    const existing = answer?.element || this.shown(message.id);
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
    this.root.append(messageElement(message, this.me));
  }

  /** Whether an answer shows as streaming with no live stream behind it: it ended while the page loaded. */
  staleAnswers() {
    const streaming = this.root.querySelectorAll('[data-testid="assistant-message"][data-status="streaming"]');
    return [...streaming].some((element) => !this.answers.has(Number(element.dataset.messageId)));
  }

  /** Only the last answer offers "Regenerate", and only once it is finished. */
  refreshRegenerate() {
    const last = this.lastOf("assistant-message");
    const button = last ? last.querySelector('[data-action="regenerate"]') : null;
    if (this.regenerateButton && this.regenerateButton !== button) this.regenerateButton.hidden = true;
    if (button) button.hidden = last.dataset.status === "streaming";
    this.regenerateButton = button;
  }

  lastQuestion() {
    const last = this.lastOf("user-message");
    return last ? last.querySelector('[data-testid="message-body"]').textContent : "";
  }

  /** The last message of a kind, looked for from the end (history can be long). */
  lastOf(testid) {
    for (let child = this.root.lastElementChild; child; child = child.previousElementSibling) {
      if (child.dataset.testid === testid) return child;
      if (child.classList.contains("history-page")) {
        const found = child.querySelectorAll(`[data-testid="${testid}"]`);
        if (found.length) return found[found.length - 1];
      }
    }
    return null;
  }

  nearBottom() {
    const { scrollHeight, scrollTop, clientHeight } = this.root;
    return scrollHeight - scrollTop - clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToEnd(force) {
    if (!force && !this.pinned) return;
    this.root.scrollTop = this.root.scrollHeight;
    this.pinned = true;
  }

  scrolled() {
    this.pinned = this.nearBottom();
    this.wantOlder();
  }

  /** Asks for the older page while the reader is within a screen of the top (or the page does not fill one). */
  wantOlder() {
    if (this.olderState !== "more" || this.root.scrollTop > this.root.clientHeight) return;
    this.setOlder("loading");
    this.onNeedOlder();
  }

  setOlder(state) {
    this.olderState = state;
    this.edge.dataset.state = state;
    this.edge.textContent = state === "loading" ? "Loading earlier messages…" : "";
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
      copyText(sourceText.get(article) ?? "", target);
    } else if (target.dataset.action === "regenerate") {
      this.onRegenerate();
    }
  }
}

// --- Elements ---------------------------------------------------------------------------------------

/** The top of the list: where older history is being fetched. */
function historyEdge() {
  const edge = document.createElement("div");
  edge.className = "history-edge";
  edge.dataset.testid = "history-edge";
  edge.setAttribute("role", "status");
  return edge;
}

/**
 * A page of history as one block, so the list has a box per page to place rather than one per message. Once it
 * has been drawn at its real size, the browser may skip it while it is off screen (content-visibility), keeping
 * that size: a frame then costs the same however far back the reader has scrolled. See app.css.
 */
function historyPage(messages, me) {
  const page = document.createElement("div");
  page.className = "history-page";
  page.append(...messages.map((message) => messageElement(message, me)));
  requestAnimationFrame(() => requestAnimationFrame(() => page.classList.add("drawn"))); // after a frame drew it
  return page;
}

function changed(element, message) {
  return element.dataset.status !== (message.status || "complete") || sourceText.get(element) !== message.content;
}

/** `me`: the reader's username, so their own messages are told from the others' in a shared chat. */
function messageElement(message, me) {
  return message.role === "assistant" ? assistantMessage(message) : userMessage(message, me);
}

function userMessage(message, me) {
  const article = shell("user", message);
  const body = article.querySelector('[data-testid="message-body"]');
  body.textContent = message.content; // never HTML: shown exactly as typed
  if (message.attachments?.length) body.after(attachmentStrip(message.attachments));
  if (message.author) {
    const mine = message.author === me;
    article.classList.add(mine ? "mine" : "others");
    article.dataset.author = message.author;
    const author = document.createElement("span");
    author.className = "author";
    author.dataset.testid = "message-author";
    author.textContent = mine ? "You" : message.author;
    author.title = message.author;
    article.prepend(author);
  }
  return article;
}

/** `body`: a body already showing the message's text (the streamed one), used instead of rendering it again. */
function assistantMessage(message, { body = null, render = true } = {}) {
  const article = shell("assistant", message);
  if (body) article.querySelector('[data-testid="message-body"]').replaceWith(body);
  else if (render) setBody(article, message.content);
  setSources(article, message.sources || []);
  const meta = article.querySelector('[data-testid="message-meta"]');
  const model = document.createElement("span");
  model.className = "model";
  model.dataset.testid = "message-model";
  model.textContent = [message.model, providerLabel(message.provider)].filter(Boolean).join(" · ") || "no model";
  model.title = [message.model, message.provider].filter(Boolean).join(" from ");
  meta.prepend(model);
  const persona = personaBadge(message);
  if (persona) model.after(persona);
  const used = usedMemoriesLine(message);
  if (used) article.append(used);
  const imageNote = imageInputNote(message);
  if (imageNote) model.after(imageNote);
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
  const regenerate = actionButton("Regenerate", "regenerate", "Ask the last question again");
  regenerate.hidden = true; // refreshRegenerate shows it on the last answer
  meta.append(regenerate);
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
  sourceText.set(article, message.content || "");
  return article;
}

function setBody(article, text) {
  const body = article.querySelector('[data-testid="message-body"]');
  body.innerHTML = renderMarkdown(text); // safe: the renderer escapes all source text first
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
