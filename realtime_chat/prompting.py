"""Prompt building: system prompt + persona + numbered passages + as much recent history as the budget allows.

Tokens are counted with the local model's own tokenizer (loaded vocabulary-only, once per process), not guessed.
"""

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from llama_cpp import Llama

from realtime_chat.llm.local_server.model import default_model_path
from realtime_chat.llm.types import ChatMessage

BASE_SYSTEM_PROMPT = "You are a helpful, concise assistant."
MESSAGE_OVERHEAD_TOKENS = 4  # role markers the chat template wraps around each message
REMEMBERED_COUNTS = 4096  # ~100 bytes each: 40 history messages of ~100 conversations


@lru_cache(maxsize=1)
def _tokenizer() -> Llama:
    path = Path(settings.LOCAL_MODEL_PATH) if settings.LOCAL_MODEL_PATH else default_model_path()
    return Llama(model_path=str(path), vocab_only=True, verbose=False)


class TokenCounts:
    """Counts of recently seen texts, keyed by a digest of the text (not the text, so long answers are not kept).

    Every turn counts the same history messages again; tokenizing them was a tenth of a turn's CPU (measured).
    A key is the text's content, so an edited text is simply another key: nothing needs invalidating.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._counts: OrderedDict[bytes, int] = OrderedDict()
        self._lock = threading.Lock()  # prompts are usually built on one thread, but not necessarily

    def count(self, text: str) -> int:
        encoded = text.encode("utf-8")
        key = hashlib.blake2b(encoded, digest_size=16).digest()
        with self._lock:
            if (known := self._counts.get(key)) is not None:
                self._counts.move_to_end(key)
                return known
        counted = len(_tokenizer().tokenize(encoded, add_bos=False, special=False)) + MESSAGE_OVERHEAD_TOKENS
        with self._lock:
            self._counts[key] = counted
            if len(self._counts) > self.size:
                self._counts.popitem(last=False)
        return counted

    def __len__(self) -> int:
        return len(self._counts)


_counts = TokenCounts(REMEMBERED_COUNTS)


def count_tokens(text: str) -> int:
    """Tokens `text` takes in the prompt as one message, its role markers included."""
    return _counts.count(text)


@dataclass(frozen=True)
class PromptParts:
    persona: str = ""
    rag_instructions: str = ""
    context: str = ""


def build_prompt(
    *, question: str, history: Sequence[ChatMessage], parts: PromptParts, budget_tokens: int | None = None
) -> list[ChatMessage]:
    """The messages to send. History is dropped oldest first until everything fits `budget_tokens`."""
    budget = budget_tokens if budget_tokens is not None else settings.CHAT_PROMPT_BUDGET_TOKENS
    system_text = "\n\n".join(
        part for part in (BASE_SYSTEM_PROMPT, parts.persona.strip(), parts.rag_instructions, parts.context) if part
    )
    system = ChatMessage(role="system", content=system_text)
    current = ChatMessage(role="user", content=question)
    remaining = budget - count_tokens(system.content) - count_tokens(current.content)
    kept: list[ChatMessage] = []
    for message in reversed(history):
        cost = count_tokens(message.content)
        if cost > remaining:
            break
        kept.append(message)
        remaining -= cost
    return [system, *reversed(kept), current]
