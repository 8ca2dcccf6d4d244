"""The vocabulary every provider speaks: messages in, options, stream events out.

A stream is always `Started`, then any number of `Token`s, then one `Finished` (the fallback chain may say
`Queued` before it, while the answer waits for a place at a model server). `Started` comes right before the
first token, so a consumer that has seen it knows the provider is committed to the answer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from django.conf import settings

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """`images` (encoded image files) reach only models that can see them: Ollama's `images`; others ignore them."""

    role: Role
    content: str
    images: tuple[bytes, ...] = ()


class Quotable(Protocol):
    """A retrieved passage as the extractive last resort quotes it (rag's retrieved chunks are these); passages
    are cited by position, [1] being the first."""

    @property
    def document_title(self) -> str: ...

    @property
    def page(self) -> int | None: ...

    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    """What to generate. `model=None` means the provider's own default.

    `fallback_from` is filled by the fallback chain (why earlier providers were skipped) so that a last resort
    can explain itself; callers leave it empty. `asker` says who asked (a user's id), so that the queue in front
    of a model server can take turns fairly; it never reaches the model.
    """

    model: str | None = None
    temperature: float = 0.7
    top_p: float = 0.9
    max_tokens: int = 512
    passages: tuple[Quotable, ...] = ()
    fallback_from: tuple[str, ...] = ()
    asker: str = ""


@dataclass(frozen=True, slots=True)
class Queued:
    """The answer waits for a place at a model server (`position` 1 is next); emitted whenever it moves up."""

    provider: str
    position: int


@dataclass(frozen=True, slots=True)
class Started:
    """Emitted once, right before the first token. `fallback_from` says "provider/model: reason" per skip."""

    provider: str
    model: str
    fallback_from: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Token:
    delta: str


@dataclass(frozen=True, slots=True)
class Finished:
    prompt_tokens: int
    completion_tokens: int
    done_reason: str = "stop"


StreamEvent = Queued | Started | Token | Finished
EventStream = AsyncGenerator[StreamEvent, None]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    provider: str
    size: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long a provider may take, in seconds: to connect, to produce the first token, between two chunks."""

    connect: float
    first_token: float
    idle: float

    @classmethod
    def from_settings(cls) -> Timeouts:
        return cls(
            connect=settings.LLM_CONNECT_TIMEOUT_SECONDS,
            first_token=settings.LLM_FIRST_TOKEN_TIMEOUT_SECONDS,
            idle=settings.LLM_IDLE_TIMEOUT_SECONDS,
        )


class LLMProvider(Protocol):
    """One way to reach a model. The fallback chain is itself an `LLMProvider`.

    `stream` returns an async generator (declared with plain `def`, which an `async def ... yield` method
    matches): it raises `ProviderUnavailable` before `Started` and `GenerationInterrupted` after it. A caller
    that stops early must `aclose()` it (`contextlib.aclosing`), which releases the connection so that the
    model server stops generating.

    `name` is what clients see (frames, saved messages, the model list), one per provider of a chain; `address`
    says where the provider is (a model server's URL), for logs only.
    """

    name: str
    address: str

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> EventStream: ...

    async def models(self) -> list[ModelInfo]: ...
