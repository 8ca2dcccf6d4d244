"""The fair queue's metrics: answers waiting now, and how long each waited, granted or given up."""

import asyncio

import pytest
from prometheus_client import REGISTRY

from realtime_chat.llm.queueing import FairQueue


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_wait_is_counted_until_granted_or_given_up() -> None:
    queue, loop = FairQueue(1), asyncio.get_running_loop()
    waiting, granted = sample("rc_llm_queue_waiting"), sample("rc_llm_queue_wait_seconds_count", outcome="granted")
    gave_up = sample("rc_llm_queue_wait_seconds_count", outcome="gave_up")
    release = asyncio.Event()

    async def hold() -> None:
        async with queue.place("alice") as place:
            async for _ in place.positions(deadline=loop.time() + 5):
                pass
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    second = asyncio.create_task(hold())
    await asyncio.sleep(0.01)
    assert sample("rc_llm_queue_waiting") == waiting + 1

    with pytest.raises(TimeoutError):  # a third gives up waiting
        async with queue.place("bob") as place:
            async for _ in place.positions(deadline=loop.time() + 0.05):
                pass
    await asyncio.sleep(0)  # a future's callbacks run on the loop's next turn
    assert sample("rc_llm_queue_wait_seconds_count", outcome="gave_up") == gave_up + 1

    release.set()
    await asyncio.gather(holder, second)
    assert sample("rc_llm_queue_waiting") == waiting
    assert sample("rc_llm_queue_wait_seconds_count", outcome="granted") == granted + 1
