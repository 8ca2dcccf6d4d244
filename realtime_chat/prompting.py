"""Prompt building: system prompt + persona + numbered passages + as much recent history as the budget allows.

Tokens are counted with the local model's own tokenizer (loaded vocabulary-only, once per process), not guessed.
"""

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


@lru_cache(maxsize=1)
def _tokenizer() -> Llama:
    path = Path(settings.LOCAL_MODEL_PATH) if settings.LOCAL_MODEL_PATH else default_model_path()
    return Llama(model_path=str(path), vocab_only=True, verbose=False)


def count_tokens(text: str) -> int:
    return len(_tokenizer().tokenize(text.encode("utf-8"), add_bos=False, special=False)) + MESSAGE_OVERHEAD_TOKENS


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
