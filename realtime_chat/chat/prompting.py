"""Prompt building: system prompt + persona + memories + numbered passages + as much recent history as the budget
allows.

Tokens are counted by the counter the LLM factory hands over for the model (`token_counter`): the bundled model's
own tokenizer where it is the model, a conservative estimate otherwise.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from realtime_chat.llm.tokens import TokenCounter
from realtime_chat.llm.types import ChatMessage

BASE_SYSTEM_PROMPT = "You are a helpful, concise assistant."
MESSAGE_OVERHEAD_TOKENS = 4  # role markers the chat template wraps around each message


@dataclass(frozen=True)
class PromptParts:
    persona: str = ""
    memories: str = ""  # the asker's memories the question recalled, a delimited block
    rag_instructions: str = ""
    context: str = ""


def build_prompt(
    *,
    question: str,
    history: Sequence[ChatMessage],
    parts: PromptParts,
    counter: TokenCounter,
    budget_tokens: int | None = None,
) -> list[ChatMessage]:
    """The messages to send. History is dropped oldest first until everything fits `budget_tokens`."""

    def count_tokens(text: str) -> int:
        return counter.count(text) + MESSAGE_OVERHEAD_TOKENS

    budget = budget_tokens if budget_tokens is not None else settings.CHAT_PROMPT_BUDGET_TOKENS
    system_text = "\n\n".join(
        part
        for part in (BASE_SYSTEM_PROMPT, parts.persona.strip(), parts.memories, parts.rag_instructions, parts.context)
        if part
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
