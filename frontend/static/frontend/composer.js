// What the message box offers in the open chat: whether this person may write in it (a viewer may not), and the
// hint it shows (with no chat open it starts one; in `mention` mode the assistant answers only @assistant).

export const ASSISTANT_MENTION = "@assistant";
const DEFAULT_PLACEHOLDER = "Send a message (Enter to send, Shift+Enter for a new line)";

/** Whether the assistant will answer `text` in a chat of this mode: the server's rule (`assistant_is_asked`). */
export function asksAssistant(mode, text) {
  return mode !== "mention" || text.toLowerCase().includes(ASSISTANT_MENTION);
}

/** The box's placeholder and hint, and whether it takes text, for a chat (or none) and my role in it. */
export function composerMode({ hasSession, role, mode }) {
  if (!hasSession) {
    return { writable: true, placeholder: "Type a message to start a new chat (Enter to send)", hint: "" };
  }
  if (role === "viewer") {
    return {
      writable: false,
      placeholder: "Read only: you are a viewer",
      hint: "You are a viewer here: you can read this chat, and only its owner and members can write in it.",
    };
  }
  if (mode === "mention") {
    return {
      writable: true,
      placeholder: "Message everyone here; add @assistant to ask the assistant",
      hint: "The assistant answers only messages that mention @assistant.",
      mention: true,
    };
  }
  return { writable: true, placeholder: DEFAULT_PLACEHOLDER, hint: "" };
}

/** Shows a composerMode on the box and its hint line; the hint's button puts @assistant in the message. */
export class ComposerHint {
  constructor({ input, hint }) {
    this.input = input;
    this.hint = hint;
    this.text = hint.querySelector('[data-role="text"]');
    this.mentionButton = hint.querySelector('[data-action="mention"]');
    this.mentionButton.addEventListener("click", () => this.insertMention());
  }

  /** Returns whether the box takes text. */
  show(state) {
    const mode = composerMode(state);
    this.input.placeholder = mode.placeholder;
    this.text.textContent = mode.hint;
    this.hint.hidden = !mode.hint;
    this.hint.dataset.kind = mode.writable ? "info" : "readonly";
    this.mentionButton.hidden = !mode.mention;
    return mode.writable;
  }

  insertMention() {
    const text = this.input.value;
    if (!text.toLowerCase().includes(ASSISTANT_MENTION)) {
      this.input.value = `${ASSISTANT_MENTION} ${text.trimStart()}`;
      this.input.dispatchEvent(new Event("input"));
    }
    this.input.focus();
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
  }
}
