// "alice is typing…": the others' `typing` frames shown for a few seconds each, and this page's own typing told
// to the server at most once per TYPING_EVERY_MS (the server passes it on at the same rate, per person).

export const TYPING_EVERY_MS = 2_000;
// A typist's frames come every TYPING_EVERY_MS while they type: shown a little longer, so the line stays put.
const SHOWN_FOR_MS = 3_500;

export class TypingIndicator {
  constructor(element) {
    this.element = element;
    this.typists = new Map(); // username -> the timer that forgets them
  }

  show(username) {
    clearTimeout(this.typists.get(username));
    this.typists.set(username, setTimeout(() => this.clear(username), SHOWN_FOR_MS));
    this.render();
  }

  /** They sent their message (or left): no longer typing. */
  clear(username) {
    if (!this.typists.has(username)) return;
    clearTimeout(this.typists.get(username));
    this.typists.delete(username);
    this.render();
  }

  reset() {
    for (const timer of this.typists.values()) clearTimeout(timer);
    this.typists.clear();
    this.render();
  }

  render() {
    const text = typingText([...this.typists.keys()]);
    this.element.textContent = text;
    this.element.hidden = !text;
  }
}

export function typingText(names) {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}

/** Tells the server this page's person is typing; `send(frame)` returns whether the frame went out. */
export class TypingSignal {
  constructor(send) {
    this.send = send;
    this.sentAt = -Infinity;
  }

  typed() {
    const now = performance.now();
    if (now - this.sentAt < TYPING_EVERY_MS) return;
    if (this.send({ type: "typing" })) this.sentAt = now;
  }
}
