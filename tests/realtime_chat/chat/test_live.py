"""Where an answer's text so far is kept for sockets that open mid-answer: this process's memory (the embedded
default) or Redis (shared by every daphne process); both behave the same."""

import asyncio
import json

import pytest
import redis.asyncio as aioredis

from realtime_chat.chat.answer_store import AnswerStore, LocalAnswerStore, RedisAnswerStore, Snapshot
from realtime_chat.chat.broadcast import session_control_group, session_stop_request
from realtime_chat.chat.live import stop_requests
from realtime_chat.core.fanout import CHANNEL_PREFIX, local_receivers


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> AnswerStore:
    if request.param == "memory":
        return LocalAnswerStore()
    return RedisAnswerStore(request.getfixturevalue("redis_url"))


async def test_an_answer_is_readable_from_its_start_until_its_end(store: AnswerStore) -> None:
    assert await store.snapshot(7) is None
    await store.begin(7, message_id=70, model="smollm2:135m", provider="ollama@local")
    assert await store.snapshot(7) == Snapshot(70, "", "smollm2:135m", "ollama@local")
    for text in ["Once ", "upon a ", "time — ", "🐉"]:
        await store.append(7, text)
    assert await store.snapshot(7) == Snapshot(70, "Once upon a time — 🐉", "smollm2:135m", "ollama@local")
    assert await store.snapshot(8) is None  # another session's
    await store.end(7)
    assert await store.snapshot(7) is None


async def test_a_new_answer_replaces_the_last_one(store: AnswerStore) -> None:
    await store.begin(9, message_id=1, model="m", provider="p")
    await store.append(9, "old")
    await store.begin(9, message_id=2, model="m", provider="p")
    assert await store.snapshot(9) == Snapshot(2, "", "m", "p")
    await store.end(9)


async def test_text_is_kept_when_append_is_called_not_when_it_is_awaited(store: AnswerStore) -> None:
    """The turn appends a window's text, publishes its frame, then waits once for both: whatever is asked after
    the append (a snapshot, another process's read after the frame) must already see the text."""
    await store.begin(13, message_id=130, model="m", provider="p")
    appended = store.append(13, "before its frame")
    assert await store.snapshot(13) == Snapshot(130, "before its frame", "m", "p")
    await appended
    begun = store.begin(13, message_id=131, model="m", provider="p")
    assert await store.snapshot(13) == Snapshot(131, "", "m", "p")
    await begun
    await store.end(13)


async def test_a_failed_append_is_raised_where_it_is_awaited(redis_url: str) -> None:
    store = RedisAnswerStore(redis_url)
    await store.begin(14, message_id=140, model="m", provider="p")
    other_client = aioredis.Redis.from_url(redis_url)
    await other_client.delete("chat:answer:14:text")
    await other_client.lpush("chat:answer:14:text", "not a string")  # APPEND to a list fails
    appended = store.append(14, "lost")
    with pytest.raises(aioredis.ResponseError):
        await appended
    await store.end(14)
    await other_client.aclose()


@pytest.fixture(params=["memory", "redis"])
def processes(request: pytest.FixtureRequest, settings) -> str:
    """Where a stop travels: this process alone (the embedded default), or Redis to every process."""
    settings.REDIS_URL = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    return str(request.param)


async def _generate(session_id: int) -> str:
    async with stop_requests(session_id) as stops:
        with stops.cancelling_current_task():
            await asyncio.sleep(30)
    return "finished"


async def test_a_stop_request_cancels_the_task_generating_that_sessions_answer_only(processes: str) -> None:
    stopped, other = asyncio.create_task(_generate(1)), asyncio.create_task(_generate(2))
    await asyncio.sleep(0.05)  # both listen
    await session_stop_request(1)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(stopped, timeout=5)
    assert not other.done()
    other.cancel()
    with pytest.raises(asyncio.CancelledError):
        await other
    assert local_receivers(session_control_group(1)) == local_receivers(session_control_group(2)) == 0


async def test_a_stop_from_another_process_cancels_the_answer_here(redis_url: str, settings) -> None:
    settings.REDIS_URL = redis_url
    generating = asyncio.create_task(_generate(3))
    await asyncio.sleep(0.05)
    other_process = aioredis.Redis.from_url(redis_url)
    stop = json.dumps({"type": "chat.stop"}).encode()
    await other_process.publish(CHANNEL_PREFIX + session_control_group(3), b"4242.other|" + stop)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(generating, timeout=5)
    await other_process.aclose()


async def test_an_abandoned_answers_text_is_taken_once_and_only_for_that_answer(store: AnswerStore) -> None:
    await store.begin(11, message_id=110, model="m", provider="p")
    await store.append(11, "half an answer")
    assert await asyncio.to_thread(store.take_abandoned, 11, 999) is None  # another answer's: left alone
    assert await asyncio.to_thread(store.take_abandoned, 11, 110) == "half an answer"
    assert await store.snapshot(11) is None
    assert await asyncio.to_thread(store.take_abandoned, 11, 110) is None


async def test_the_redis_entry_of_a_dead_generator_expires_with_its_lock(redis_url: str, settings) -> None:
    settings.CHAT_GENERATION_STALE_SECONDS = 1  # the entry outlives a silent generator by 2 s
    store = RedisAnswerStore(redis_url)
    await store.begin(12, message_id=120, model="m", provider="p")
    await store.append(12, "alive")
    await asyncio.sleep(1.2)
    await store.keep_alive(12)  # a heartbeat pushes the expiry back
    await asyncio.sleep(1.2)
    assert (await store.snapshot(12)) == Snapshot(120, "alive", "m", "p")
    await asyncio.sleep(2.2)  # no append, no heartbeat: gone
    assert await store.snapshot(12) is None
