"""Build the providers from settings. The only module that knows which kinds of provider exist."""

import time
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from realtime_chat.llm.circuit_breaker import CircuitBreaker
from realtime_chat.llm.extractive import ExtractiveProvider
from realtime_chat.llm.fallback import ChainEntry, FallbackChain
from realtime_chat.llm.ollama_provider import OllamaProvider
from realtime_chat.llm.openai_provider import OpenAICompatibleProvider
from realtime_chat.llm.queueing import FairQueue, provider_queue
from realtime_chat.llm.streaming import NetworkProvider
from realtime_chat.llm.tokens import EstimatedTokenCounter, RememberedTokenCounts, TokenCounter
from realtime_chat.llm.types import LLMProvider, ModelInfo, Timeouts


def build_chain(*, preferred_model: str | None = None) -> FallbackChain:
    """The chain a chat uses, in order: the preferred model on the primary Ollama, its default model, the
    fallback Ollama, the OpenAI-compatible server, then the extractive last resort (each only when configured).
    Each provider goes by the name its settings give it (`OLLAMA_NAME`, ...): clients see names, never addresses.
    """
    timeouts = Timeouts.from_settings()
    primary = OllamaProvider(
        settings.OLLAMA_HOST, name=settings.OLLAMA_NAME, model=settings.OLLAMA_MODEL, timeouts=timeouts
    )
    entries = []
    if preferred_model and preferred_model != settings.OLLAMA_MODEL:
        entries.append(ChainEntry(primary, preferred_model))
    entries.append(ChainEntry(primary, settings.OLLAMA_MODEL))
    if settings.OLLAMA_FALLBACK_HOST:
        fallback = OllamaProvider(
            settings.OLLAMA_FALLBACK_HOST,
            name=settings.OLLAMA_FALLBACK_NAME,
            model=settings.OLLAMA_MODEL,
            timeouts=timeouts,
        )
        entries.append(ChainEntry(fallback, settings.OLLAMA_MODEL))
    if settings.OPENAI_COMPAT_URL and settings.OPENAI_COMPAT_MODEL:
        compatible = OpenAICompatibleProvider(
            settings.OPENAI_COMPAT_URL,
            name=settings.OPENAI_COMPAT_NAME,
            model=settings.OPENAI_COMPAT_MODEL,
            api_key=settings.OPENAI_COMPAT_API_KEY,
            timeouts=timeouts,
        )
        entries.append(ChainEntry(compatible, settings.OPENAI_COMPAT_MODEL))
    if settings.LLM_EXTRACTIVE_FALLBACK:
        entries.append(ChainEntry(ExtractiveProvider(), ExtractiveProvider.model))
    breaker = CircuitBreaker(cooldown_seconds=settings.LLM_COOLDOWN_SECONDS)
    return FallbackChain(entries, breaker=breaker, queue_for=_queue_for)


def _queue_for(provider: LLMProvider) -> FairQueue | None:
    """Model servers are queued in front of (`LLM_MAX_CONCURRENT_PER_PROVIDER`, 0 = not queued); the
    extractive last resort runs in-process and never waits."""
    if not isinstance(provider, NetworkProvider) or settings.LLM_MAX_CONCURRENT_PER_PROVIDER <= 0:
        return None
    return provider_queue(provider.name)


def check_configuration() -> None:
    """Build the chain once at start-up, so that a configuration it refuses (two providers with one name) stops the
    process instead of failing every chat."""
    try:
        build_chain()
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured(f"{exc} (see OLLAMA_NAME, OLLAMA_FALLBACK_NAME, OPENAI_COMPAT_NAME)") from exc


async def available_models() -> list[ModelInfo]:
    """The models a user may pick: those of the primary Ollama host and of every other reachable provider."""
    return await build_chain().models()


def default_model() -> str:
    return settings.OLLAMA_MODEL


def token_counter(*, model: str | None = None) -> TokenCounter:
    """What counts a prompt's tokens for `model` (None: the default model): the bundled model's own tokenizer
    when that is the model, else an estimate. Only then is llama.cpp imported, so a server that talks to
    another model never loads it."""
    if (model or settings.OLLAMA_MODEL) == settings.LOCAL_MODEL_NAME:
        return _bundled_model_counter(settings.LOCAL_MODEL_PATH)
    return _estimated_counter()


@lru_cache(maxsize=1)
def _estimated_counter() -> TokenCounter:
    return RememberedTokenCounts(EstimatedTokenCounter())


@lru_cache(maxsize=2)
def _bundled_model_counter(model_path_setting: str) -> TokenCounter:
    """One vocabulary load per process (per LOCAL_MODEL_PATH); without llama.cpp installed, the estimate."""
    try:
        from realtime_chat.local_model.model_file import configured_model_path
        from realtime_chat.local_model.tokenizer import GgufTokenCounter
    except ImportError:
        return _estimated_counter()
    return RememberedTokenCounts(GgufTokenCounter(configured_model_path()))


_capabilities_seen: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}
CAPABILITIES_TTL_SECONDS = 60.0


async def model_capabilities(*, model: str | None = None) -> frozenset[str]:
    """What `model` (None: the default) can do on the primary Ollama server, e.g. `vision`; asked once a minute.
    Empty when the server cannot be asked: the chat then treats the model as text-only, which always works."""
    name = model or settings.OLLAMA_MODEL
    key = (settings.OLLAMA_HOST, name)
    now = time.monotonic()
    seen = _capabilities_seen.get(key)
    if seen is not None and now - seen[0] < CAPABILITIES_TTL_SECONDS:
        return seen[1]
    primary = OllamaProvider(settings.OLLAMA_HOST, name=settings.OLLAMA_NAME, model=name)
    capabilities = await primary.capabilities(name)
    if capabilities:
        _capabilities_seen[key] = (now, capabilities)
    return capabilities
