"""The part of streaming that every network provider shares: deadlines, `Started`, and error mapping.

A provider turns its wire format into `Token`/`Finished` pieces; `guarded_stream` adds the first-token deadline,
the idle timeout, the `Started` event before the first real token, and maps any transport failure to
`ProviderUnavailable` (nothing shown yet) or `GenerationInterrupted` (tokens already shown).
`NetworkProvider` wires the two together, so a provider only writes its wire format.
"""

import abc
import asyncio
import functools
import ssl
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import ClassVar
from urllib.parse import urlsplit

import httpx

from realtime_chat.llm.errors import GenerationInterrupted, ProviderUnavailable
from realtime_chat.llm.types import ChatMessage, EventStream, Finished, GenerationOptions, Started, Timeouts, Token

Piece = Token | Finished


class NetworkProvider(abc.ABC):
    """An `LLMProvider` that reaches a model server over the network.

    A subclass turns its wire format into pieces (`_pieces`), names the exceptions its transport raises
    (`failures`) and says why one happened (`_describe`); `stream` guards the pieces with `guarded_stream`.
    `name` is what clients see; `address`, the server's URL, is for logs only.
    """

    failures: ClassVar[tuple[type[BaseException], ...]]

    def __init__(self, address: str, *, name: str, model: str, timeouts: Timeouts | None) -> None:
        self.address = address
        self.name = name
        self.model = model
        self._timeouts = timeouts or Timeouts.from_settings()
        self._quoted_address = _forms_of(address)

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> EventStream:
        model = options.model or self.model
        return guarded_stream(
            self._pieces(model, messages, options),
            provider=self.name,
            model=model,
            timeouts=self._timeouts,
            errors=self.failures,
            describe=self._reason,
        )

    @abc.abstractmethod
    def _pieces(
        self, model: str, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncGenerator[Piece, None]:
        """The answer as `Token`s, then one `Finished`; an async generator that closes its connection."""

    @abc.abstractmethod
    def _describe(self, exc: BaseException) -> str:
        """A short reason for one of `failures` (or a timeout), fit for `Started.fallback_from` and logs."""

    def _reason(self, exc: BaseException) -> str:
        """`_describe`, with the server's address replaced by the provider's name wherever a library's or the
        server's message quotes it (a TLS hostname mismatch, an upstream error): clients see reasons."""
        reason = self._describe(exc)
        for quoted in self._quoted_address:
            reason = reason.replace(quoted, self.name)
        return reason


def _forms_of(address: str) -> tuple[str, ...]:
    """How a message may quote `address`: whole, as host:port, as the host name. A one-label host name is left
    out: it is a service's name ("ollama") or a word ("model") that reasons are made of."""
    where = urlsplit(address)
    host = where.hostname or ""
    return tuple(form for form in (address, where.netloc, host if "." in host or ":" in host else "") if form)


def wire_messages(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    """The messages as both chat APIs take them."""
    return [{"role": message.role, "content": message.content} for message in messages]


async def guarded_stream(
    pieces: AsyncGenerator[Piece, None],
    *,
    provider: str,
    model: str,
    timeouts: Timeouts,
    errors: tuple[type[BaseException], ...],
    describe: Callable[[BaseException], str],
) -> EventStream:
    """Yield `Started`, the non-empty tokens, then `Finished`; always close `pieces` (and so its connection).

    The first-token deadline is fixed when the stream opens (empty keep-alive chunks do not extend it); after
    the first token, each chunk must follow the previous one within `timeouts.idle`.
    """
    loop = asyncio.get_running_loop()
    first_token_deadline = loop.time() + timeouts.first_token
    shown: list[str] = []
    try:
        while True:
            deadline = loop.time() + timeouts.idle if shown else first_token_deadline
            try:
                async with asyncio.timeout_at(deadline):
                    piece = await anext(pieces)
            except StopAsyncIteration:
                raise _failure(provider, "the stream ended before the answer was finished", shown) from None
            except TimeoutError as exc:
                silence = f"no data for {timeouts.idle:g}s" if shown else "no first token"
                if not shown:
                    silence += f" within {timeouts.first_token:g}s"
                raise _failure(provider, silence, shown) from exc
            except errors as exc:
                raise _failure(provider, describe(exc), shown) from exc
            if isinstance(piece, Token) and not piece.delta:
                continue
            if not shown:
                yield Started(provider=provider, model=model)
            if isinstance(piece, Finished):
                yield piece
                return
            shown.append(piece.delta)
            yield piece
    finally:
        await pieces.aclose()


def _failure(provider: str, reason: str, shown: list[str]) -> ProviderUnavailable | GenerationInterrupted:
    if shown:
        return GenerationInterrupted(provider, reason, partial_text="".join(shown))
    return ProviderUnavailable(provider, reason)


def describe_transport_error(exc: BaseException) -> str:
    """A short reason for a network failure, fit for `Started.fallback_from` and logs."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "connection timed out"
    if _caused_by(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, httpx.ConnectError | ConnectionError):
        return f"cannot connect ({exc})" if str(exc) else "cannot connect"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return "the connection was closed by the server"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, ValueError):
        return f"unreadable response ({exc})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether `kind` is anywhere in the chain: httpx wraps the OS error in two or three layers."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context per process. httpx builds a new one per client by loading the whole CA bundle, ~180 ms of
    blocking work on the event loop for every chat turn (measured); the providers pass this one instead."""
    return httpx.create_ssl_context()
