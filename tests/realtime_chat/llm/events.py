"""Reading provider streams in tests, and passages to hand them."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

from realtime_chat.llm.types import Finished, Started, StreamEvent, Token


async def collect(stream: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in stream]


def text_of(events: list[StreamEvent]) -> str:
    return "".join(event.delta for event in events if isinstance(event, Token))


def assert_well_formed(events: list[StreamEvent]) -> tuple[Started, Finished]:
    """One `Started` first, tokens, one `Finished` last: the contract every provider keeps."""
    assert isinstance(events[0], Started)
    assert isinstance(events[-1], Finished)
    assert all(isinstance(event, Token) for event in events[1:-1])
    return events[0], events[-1]


@dataclass(frozen=True)
class Passage:
    """What a provider needs of a retrieved chunk (the `Quotable` protocol rag's chunks satisfy)."""

    document_title: str
    page: int | None
    text: str
