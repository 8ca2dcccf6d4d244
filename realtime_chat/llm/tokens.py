"""Counting prompt tokens: a protocol, an estimate that needs no tokenizer, and a memory of recent counts.

The prompt builder only needs `count(text)`. Which counter fits a model is the factory's decision
(`realtime_chat.llm.factory.token_counter`): the bundled model's own tokenizer where it is the model, an estimate
for a model whose tokenizer this process does not have.
"""

import hashlib
import math
import threading
from collections import OrderedDict
from typing import Protocol

REMEMBERED_COUNTS = 4096  # ~100 bytes each: 40 history messages of ~100 conversations


class TokenCounter(Protocol):
    def count(self, text: str) -> int:
        """Tokens `text` takes, without any chat-template markers around it."""
        ...


class EstimatedTokenCounter:
    """One token per 3 bytes of UTF-8: BPE vocabularies average 3.5-4.5 bytes a token on prose, so the estimate
    errs on the long side and a prompt built with it stays inside the model's context."""

    BYTES_PER_TOKEN = 3

    def count(self, text: str) -> int:
        return math.ceil(len(text.encode("utf-8")) / self.BYTES_PER_TOKEN)


class RememberedTokenCounts:
    """Counts of recently seen texts, keyed by a digest of the text (not the text, so long answers are not kept).

    Every turn counts the same history messages again; tokenizing them was a tenth of a turn's CPU (measured).
    A key is the text's content, so an edited text is simply another key: nothing needs invalidating.
    """

    def __init__(self, counter: TokenCounter, size: int = REMEMBERED_COUNTS) -> None:
        self.counter = counter
        self.size = size
        self._counts: OrderedDict[bytes, int] = OrderedDict()
        self._lock = threading.Lock()  # prompts are usually built on one thread, but not necessarily

    def count(self, text: str) -> int:
        key = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
        with self._lock:
            if (known := self._counts.get(key)) is not None:
                self._counts.move_to_end(key)
                return known
        counted = self.counter.count(text)
        with self._lock:
            self._counts[key] = counted
            if len(self._counts) > self.size:
                self._counts.popitem(last=False)
        return counted

    def __len__(self) -> int:
        return len(self._counts)
