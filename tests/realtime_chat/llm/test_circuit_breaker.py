"""A failed provider cools down in the shared cache, per provider and model, and comes back by itself."""

import asyncio

from django.core.cache import cache

from realtime_chat.llm.circuit_breaker import CircuitBreaker


async def test_a_tripped_provider_cools_down_with_its_reason() -> None:
    breaker = CircuitBreaker(cooldown_seconds=30)
    await breaker.trip("ollama", "smollm2:135m", "connection refused")
    assert await breaker.cooling_down("ollama", "smollm2:135m") == "connection refused"
    assert await breaker.cooling_down("ollama", "qwen2.5:0.5b") is None
    assert await breaker.cooling_down("ollama-fallback", "smollm2:135m") is None


async def test_another_breaker_on_the_same_cache_sees_the_cool_down() -> None:
    """What lets several daphne processes share it: the state is in the cache, not in the object."""
    await CircuitBreaker(cooldown_seconds=30, store=cache).trip("ollama", "m", "timed out")
    assert await CircuitBreaker(cooldown_seconds=30, store=cache).cooling_down("ollama", "m") == "timed out"


async def test_the_cool_down_ends_by_itself() -> None:
    breaker = CircuitBreaker(cooldown_seconds=1)
    await breaker.trip("ollama", "m", "timed out")
    await asyncio.sleep(1.1)
    assert await breaker.cooling_down("ollama", "m") is None


async def test_a_zero_cool_down_never_skips() -> None:
    breaker = CircuitBreaker(cooldown_seconds=0)
    await breaker.trip("ollama", "m", "timed out")
    assert await breaker.cooling_down("ollama", "m") is None
