"""A flush window's text and its frame: the text is kept before the frame goes out, in one round trip on Redis."""

import json
from typing import Any

import pytest
import redis.asyncio as aioredis

from realtime_chat.chat.answer_store import Snapshot, answer_store
from realtime_chat.chat.broadcast import session_group
from realtime_chat.chat.models import Message
from realtime_chat.chat.services.turns import TokenBatch
from realtime_chat.core.fanout import CHANNEL_PREFIX
from realtime_chat.core.redis_clients import shared_redis


async def test_a_window_costs_one_round_trip_to_redis_and_its_text_is_kept_before_its_frame_is_heard(
    redis_url: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.REDIS_URL = redis_url
    session_id = 4_000_001
    store = answer_store()
    await store.begin(session_id, message_id=17, model="m", provider="p")
    other_process = aioredis.Redis.from_url(redis_url)
    listener = other_process.pubsub()
    await listener.subscribe(CHANNEL_PREFIX + session_group(session_id))
    await listener.get_message(timeout=1)  # the subscription's confirmation

    outbox = shared_redis(redis_url).outbox()
    pipelines: list[int] = []
    pipeline = outbox.client.pipeline

    def counted(*args: Any, **kwargs: Any) -> Any:
        pipelines.append(1)
        return pipeline(*args, **kwargs)

    monkeypatch.setattr(outbox.client, "pipeline", counted)
    batch = TokenBatch(session_id=session_id, message=Message(pk=17))
    batch.add("Once upon ")
    frame = await batch.flush()

    assert pipelines == [1]  # the APPEND and the PUBLISH went together
    assert frame == {"type": "token", "message_id": 17, "delta": "Once upon ", "offset": 0}
    heard = await listener.get_message(timeout=2)
    assert heard is not None
    assert json.loads(heard["data"].split(b"|", 1)[1])["span"] == [17, 0, 10]
    # Whoever hears the frame and then reads the snapshot finds the text in it.
    assert await store.snapshot(session_id) == Snapshot(17, "Once upon ", "m", "p")

    await store.end(session_id)
    await listener.aclose()
    await other_process.aclose()
