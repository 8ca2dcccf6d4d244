"""Fixed-window rate limits (issue 14, item 10), on the local-memory cache and on Redis: a limit lifts when its
window ends, and concurrent hits are each counted once."""

import asyncio

import pytest
import redis

from realtime_chat.core import rate_window
from realtime_chat.core.rate_window import hits_within_limit, window_hit

REDIS_CACHE = "realtime_chat.core.cache_backends.SharedRedisCache"  # the product's, as settings.py sets it

WINDOW = 60


@pytest.fixture(params=["locmem", "redis"])
def cache_backend(request: pytest.FixtureRequest, settings) -> str:
    """The test runs once on each cache the product can be configured with."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        settings.CACHES = {"default": {"BACKEND": REDIS_CACHE, "LOCATION": url}}
    else:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.cache import cache

    cache.clear()
    return request.param


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The windows' clock, moved by the test: `clock[0] += 60` is a minute later. Starts at a window's start."""
    moment = [1_800_000_000.0]
    monkeypatch.setattr(rate_window, "now", lambda: moment[0])
    return moment


@pytest.mark.usefixtures("cache_backend")
async def test_sixty_hits_then_refused_and_a_minute_later_sixty_more(clock: list[float]) -> None:
    for _minute in range(2):
        allowed = [await hits_within_limit("user:1", limit=60, window_seconds=WINDOW) for _ in range(61)]
        assert allowed == [True] * 60 + [False]
        clock[0] += WINDOW


@pytest.mark.usefixtures("cache_backend")
async def test_refused_hits_do_not_move_the_window(clock: list[float]) -> None:
    for _ in range(100):
        await hits_within_limit("user:1", limit=3, window_seconds=WINDOW)
    clock[0] += WINDOW - 1
    assert not await hits_within_limit("user:1", limit=3, window_seconds=WINDOW)
    clock[0] += 1
    assert await hits_within_limit("user:1", limit=3, window_seconds=WINDOW)


@pytest.mark.usefixtures("cache_backend", "clock")
async def test_keys_and_windows_are_counted_apart() -> None:
    assert await hits_within_limit("user:1", limit=1, window_seconds=WINDOW)
    assert await hits_within_limit("user:2", limit=1, window_seconds=WINDOW)
    assert await hits_within_limit("user:1", limit=1, window_seconds=10)
    assert not await hits_within_limit("user:1", limit=1, window_seconds=WINDOW)


@pytest.mark.usefixtures("cache_backend", "clock")
async def test_concurrent_hits_are_each_counted_once() -> None:
    """Django's aincr reads then writes: concurrent hits read the same count and some were lost."""
    counts = await asyncio.gather(*(asyncio.to_thread(window_hit, "user:1", window_seconds=WINDOW) for _ in range(200)))
    assert sorted(counts) == list(range(1, 201))


@pytest.mark.usefixtures("clock")
def test_on_redis_a_counter_lives_no_longer_than_its_window(settings, redis_url: str) -> None:
    """Before, the counter's 60 s became the cache's default 300 s after one increment."""
    settings.CACHES = {"default": {"BACKEND": REDIS_CACHE, "LOCATION": redis_url}}
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    for _ in range(3):
        window_hit("user:1", window_seconds=WINDOW)
    (key,) = client.keys("*rate:user:1:*")
    assert int(client.get(key) or 0) == 3
    assert 0 < client.ttl(key) <= WINDOW


def _connections_opened(client: redis.Redis) -> int:
    return int(client.info("stats")["total_connections_received"])


@pytest.mark.usefixtures("clock")
async def test_on_redis_hits_from_many_sockets_share_the_process_connections(settings, redis_url: str) -> None:
    """Django keeps a cache object, and a connection pool, per task and thread: counting through it opened a new
    connection to Redis for every socket that connected and every message sent."""
    settings.CACHES = {"default": {"BACKEND": REDIS_CACHE, "LOCATION": redis_url}}
    observer = redis.Redis.from_url(redis_url)
    await hits_within_limit("warm-up", limit=1, window_seconds=WINDOW)
    await asyncio.to_thread(window_hit, "warm-up", window_seconds=WINDOW)
    before = _connections_opened(observer)

    async def one_socket(number: int) -> None:  # a task of its own, as each consumer is
        await hits_within_limit(f"user:{number}", limit=5, window_seconds=WINDOW)
        await asyncio.to_thread(window_hit, f"user:{number}", window_seconds=WINDOW)

    await asyncio.gather(*(asyncio.create_task(one_socket(n)) for n in range(30)))

    assert _connections_opened(observer) - before <= 10  # the pool's growth with the threads, not one a task
    assert [await hits_within_limit(f"user:{n}", limit=5, window_seconds=WINDOW) for n in (0, 29)] == [True, True]
    assert int(observer.get(next(iter(observer.keys("*rate:user:29:*")))) or 0) == 3
