"""The last resort when no model answers: quote the retrieved passages, or say plainly that nothing is reachable.

It needs no model, so it never fails; the answer is labelled so nobody mistakes it for a generated one.
"""

import re
from collections.abc import Sequence

from realtime_chat.llm.types import (
    ChatMessage,
    EventStream,
    Finished,
    GenerationOptions,
    ModelInfo,
    Quotable,
    Started,
    Token,
)

HEADING = "No language model is reachable right now. These passages from your documents look most relevant:"
NOTHING_REACHABLE = "No language model is reachable right now, so I cannot answer."
MAX_PASSAGES = 3
SENTENCES_PER_PASSAGE = 2
MAX_QUOTE_CHARS = 400
WORDS_PER_TOKEN = 6

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"\S+\s*")


class ExtractiveProvider:
    name = "extractive"
    address = "in-process"
    model = "extractive"

    async def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> EventStream:
        words = _WORD.findall(extractive_answer(options.passages, options.fallback_from))
        yield Started(provider=self.name, model=self.model)
        for start in range(0, len(words), WORDS_PER_TOKEN):
            yield Token("".join(words[start : start + WORDS_PER_TOKEN]))
        yield Finished(prompt_tokens=0, completion_tokens=len(words))

    async def models(self) -> list[ModelInfo]:
        return []  # nothing a user could pick


def extractive_answer(passages: Sequence[Quotable], reasons: Sequence[str] = ()) -> str:
    """The full answer text: the top passages cited as [n], or an explanation with the providers' reasons."""
    if passages:
        quotes = [_cite(number, passage) for number, passage in enumerate(passages[:MAX_PASSAGES], start=1)]
        return "\n\n".join([HEADING, *quotes])
    lines = [NOTHING_REACHABLE]
    if reasons:
        lines += ["", "What was tried:", *(f"- {reason}" for reason in reasons)]
    lines += ["", "Please try again in a little while."]
    return "\n".join(lines)


def _cite(number: int, passage: Quotable) -> str:
    title = passage.document_title
    where = f"{title}, p. {passage.page}" if passage.page is not None else title
    return f"[{number}] {where}: {_shorten(passage.text)}"


def _shorten(text: str) -> str:
    sentences = _SENTENCE_END.split(" ".join(text.split()))
    quote = " ".join(sentences[:SENTENCES_PER_PASSAGE])
    if len(quote) <= MAX_QUOTE_CHARS:
        return quote
    return quote[:MAX_QUOTE_CHARS].rsplit(" ", 1)[0] + "…"
