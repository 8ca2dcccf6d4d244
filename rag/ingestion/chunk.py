"""Stage 2: blocks -> chunks sized in the embedding model's own tokens. Chunks follow the structure: a heading
starts a new chunk, paragraphs are packed whole where they fit, a chunk never spans two pages, and consecutive
chunks of a section overlap by a few paragraphs or sentences."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Protocol

from rag.ingestion.parsers import TextBlock

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


class Tokenizer(Protocol):
    def count(self, texts: Sequence[str]) -> list[int]: ...

    def split(self, text: str, max_tokens: int) -> list[str]:
        """Cut `text` into pieces of at most `max_tokens` tokens, at token boundaries."""
        ...


def split_at_token_offsets(text: str, offsets: Sequence[tuple[int, int]], max_tokens: int) -> list[str]:
    """`Tokenizer.split` for tokenizers that give each token's (start, end) character offsets in `text`."""
    pieces = []
    for start in range(0, len(offsets), max_tokens):
        window = offsets[start : start + max_tokens]
        pieces.append(text[window[0][0] : window[-1][1]].strip())
    return [piece for piece in pieces if piece]


@dataclass(frozen=True)
class ChunkDraft:
    position: int
    page: int | None
    heading: str
    text: str
    token_count: int


@dataclass(frozen=True)
class _Unit:
    text: str
    tokens: int


def search_text(*, title: str, text: str) -> str:
    """What is embedded and indexed for BM25: the document title gives every chunk its context."""
    return f"{title}\n\n{text}" if title else text


class Chunker:
    def __init__(self, *, tokenizer: Tokenizer, chunk_tokens: int, overlap_tokens: int) -> None:
        if chunk_tokens < 16:
            raise ValueError("chunk_tokens must be at least 16")
        if not 0 <= overlap_tokens < chunk_tokens // 2:
            raise ValueError("overlap_tokens must be between 0 and half of chunk_tokens")
        self.tokenizer = tokenizer
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens

    def split(self, blocks: Sequence[TextBlock], *, reserved_tokens: int = 0) -> list[ChunkDraft]:
        """Chunks in document order; `reserved_tokens` leaves room for the title prefix in each chunk's budget."""
        budget = max(self.chunk_tokens - reserved_tokens, 16)
        drafts: list[ChunkDraft] = []
        heading = ""
        for page, page_blocks in groupby(blocks, key=lambda block: block.page):
            section: list[TextBlock] = []
            for block in page_blocks:
                if block.heading:
                    drafts += self._pack(section, page=page, heading=heading, budget=budget, start=len(drafts))
                    heading, section = block.text[:300], [block]
                else:
                    section.append(block)
            drafts += self._pack(section, page=page, heading=heading, budget=budget, start=len(drafts))
        return drafts

    def _pack(
        self, blocks: list[TextBlock], *, page: int | None, heading: str, budget: int, start: int
    ) -> list[ChunkDraft]:
        units = self._units([block.text for block in blocks], budget)
        drafts: list[ChunkDraft] = []
        current: list[_Unit] = []
        for unit in units:
            if current and sum(u.tokens for u in current) + unit.tokens > budget:
                drafts.append(self._draft(current, page=page, heading=heading, position=start + len(drafts)))
                current = self._overlap(current, room=budget - unit.tokens)
            current.append(unit)
        if current:  # always holds at least one unit that no earlier chunk ended with
            drafts.append(self._draft(current, page=page, heading=heading, position=start + len(drafts)))
        return drafts

    def _units(self, texts: list[str], budget: int) -> list[_Unit]:
        """Paragraphs that fit the budget; longer ones as sentences, and over-long sentences cut by tokens."""
        units: list[_Unit] = []
        for text, tokens in zip(texts, self.tokenizer.count(texts), strict=True):
            if tokens <= budget:
                units.append(_Unit(text, tokens))
                continue
            sentences = _SENTENCE_END.split(text)
            for sentence, count in zip(sentences, self.tokenizer.count(sentences), strict=True):
                if count <= budget:
                    units.append(_Unit(sentence, count))
                else:
                    pieces = self.tokenizer.split(sentence, budget)
                    units += [_Unit(p, n) for p, n in zip(pieces, self.tokenizer.count(pieces), strict=True)]
        return units

    def _overlap(self, units: list[_Unit], *, room: int) -> list[_Unit]:
        """The trailing units that fit in the overlap (and leave room for the next unit)."""
        kept: list[_Unit] = []
        total = 0
        for unit in reversed(units):
            total += unit.tokens
            if total > min(self.overlap_tokens, room):
                break
            kept.insert(0, unit)
        return kept

    @staticmethod
    def _draft(units: list[_Unit], *, page: int | None, heading: str, position: int) -> ChunkDraft:
        text = "\n\n".join(unit.text for unit in units)
        return ChunkDraft(position, page, heading, text, sum(unit.tokens for unit in units))
