"""The chain built from settings, exercised against real servers and real dead ends."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from pytest_django.fixtures import Settings

from realtime_chat.llm.errors import NoProviderAvailable
from realtime_chat.llm.extractive import HEADING
from realtime_chat.llm.factory import available_models, build_chain, check_configuration, default_model
from realtime_chat.llm.types import ChatMessage, GenerationOptions
from tests.realtime_chat.llm.events import Passage, assert_well_formed, collect, text_of
from tests.servers import MODEL_NAME, LocalModelServer

QUESTION = [ChatMessage(role="user", content="How do I reset the router?")]
SHORT = GenerationOptions(max_tokens=16)
PASSAGES = (
    Passage(
        document_title="Router manual",
        page=12,
        text="Hold the reset button for ten seconds. The lights blink twice. Then wait a minute. Log in again.",
    ),
    Passage(document_title="FAQ", page=None, text="Resetting erases your Wi-Fi password."),
)


@pytest.fixture
def llm_settings(settings: Settings) -> Settings:
    """Nothing configured but the primary host, which each test points somewhere."""
    settings.OLLAMA_MODEL = MODEL_NAME
    settings.OLLAMA_FALLBACK_HOST = ""
    settings.OPENAI_COMPAT_URL = ""
    settings.OPENAI_COMPAT_MODEL = ""
    settings.LLM_EXTRACTIVE_FALLBACK = True
    settings.LLM_CONNECT_TIMEOUT_SECONDS = 2.0
    settings.LLM_FIRST_TOKEN_TIMEOUT_SECONDS = 30.0
    settings.LLM_COOLDOWN_SECONDS = 30.0
    return settings


@pytest.mark.llm
async def test_the_primary_ollama_answers_when_it_is_up(llm_settings: Settings, local_server: LocalModelServer) -> None:
    llm_settings.OLLAMA_HOST = local_server.url
    events = await collect(build_chain().stream(QUESTION, SHORT))
    started, _ = assert_well_formed(events)
    assert (started.provider, started.model, started.fallback_from) == ("ollama", MODEL_NAME, ())


@pytest.mark.llm
async def test_a_missing_preferred_model_falls_back_to_the_default_model(
    llm_settings: Settings, local_server: LocalModelServer
) -> None:
    llm_settings.OLLAMA_HOST = local_server.url
    events = await collect(build_chain(preferred_model="llama3:70b").stream(QUESTION, SHORT))
    started, _ = assert_well_formed(events)
    assert started.model == MODEL_NAME
    [reason] = started.fallback_from
    assert reason.startswith("ollama/llama3:70b: ")
    assert "not found" in reason


@pytest.mark.llm
async def test_a_silent_primary_falls_back_to_the_fallback_host(
    llm_settings: Settings, black_hole_url: str, local_server: LocalModelServer
) -> None:
    llm_settings.OLLAMA_HOST = black_hole_url
    llm_settings.OLLAMA_FALLBACK_HOST = local_server.url
    llm_settings.LLM_FIRST_TOKEN_TIMEOUT_SECONDS = 1.0
    events = await collect(build_chain().stream(QUESTION, SHORT))
    started, _ = assert_well_formed(events)
    assert started.provider == "ollama-fallback"
    assert started.fallback_from == (f"ollama/{MODEL_NAME}: no first token within 1s",)


@pytest.mark.llm
async def test_a_dead_ollama_falls_back_to_the_openai_compatible_server(
    llm_settings: Settings, closed_port_url: str, local_server: LocalModelServer
) -> None:
    llm_settings.OLLAMA_HOST = closed_port_url
    llm_settings.OPENAI_COMPAT_URL = f"{local_server.url}/v1"
    llm_settings.OPENAI_COMPAT_MODEL = MODEL_NAME
    events = await collect(build_chain().stream(QUESTION, SHORT))
    started, finished = assert_well_formed(events)
    assert started.provider == "openai-compatible"
    assert finished.completion_tokens > 0


async def test_with_everything_dead_the_extractive_answer_quotes_the_passages(
    llm_settings: Settings, closed_port_url: str
) -> None:
    llm_settings.OLLAMA_HOST = closed_port_url
    events = await collect(build_chain().stream(QUESTION, GenerationOptions(passages=PASSAGES)))
    started, _ = assert_well_formed(events)
    assert (started.provider, started.model) == ("extractive", "extractive")
    assert started.fallback_from == (f"ollama/{MODEL_NAME}: connection refused",)
    answer = text_of(events)
    assert answer.startswith(HEADING)
    assert "[1] Router manual, p. 12: Hold the reset button for ten seconds. The lights blink twice." in answer
    assert "[2] FAQ: Resetting erases your Wi-Fi password." in answer


async def test_with_everything_dead_and_no_passages_it_says_no_model_is_reachable(
    llm_settings: Settings, closed_port_url: str
) -> None:
    llm_settings.OLLAMA_HOST = closed_port_url
    answer = text_of(await collect(build_chain().stream(QUESTION, SHORT)))
    assert answer.startswith("No language model is reachable right now")
    assert f"- ollama/{MODEL_NAME}: connection refused" in answer
    assert "try again" in answer


async def test_with_the_extractive_fallback_disabled_a_dead_chain_raises(
    llm_settings: Settings, closed_port_url: str
) -> None:
    llm_settings.OLLAMA_HOST = closed_port_url
    llm_settings.LLM_EXTRACTIVE_FALLBACK = False
    with pytest.raises(NoProviderAvailable) as raised:
        await collect(build_chain().stream(QUESTION, SHORT))
    assert raised.value.reasons == (f"ollama/{MODEL_NAME}: connection refused",)


@pytest.mark.llm
async def test_available_models_lists_the_reachable_hosts(
    llm_settings: Settings, local_server: LocalModelServer, closed_port_url: str
) -> None:
    llm_settings.OLLAMA_HOST = local_server.url
    llm_settings.OLLAMA_FALLBACK_HOST = closed_port_url
    models = await available_models()
    assert [(model.name, model.provider) for model in models] == [(MODEL_NAME, "ollama")]


@pytest.mark.parametrize(
    ("setting", "name"),
    [("OLLAMA_FALLBACK_NAME", "ollama"), ("OPENAI_COMPAT_NAME", "extractive"), ("OLLAMA_NAME", " ")],
)
def test_providers_configured_with_one_name_or_none_stop_the_start_up(
    llm_settings: Settings, setting: str, name: str
) -> None:
    """Clients and the cool-down tell providers apart by name; two alike would be one provider to both."""
    llm_settings.OLLAMA_FALLBACK_HOST = "http://127.0.0.1:1"
    llm_settings.OPENAI_COMPAT_URL = "http://127.0.0.1:2"
    llm_settings.OPENAI_COMPAT_MODEL = MODEL_NAME
    check_configuration()
    setattr(llm_settings, setting, name)
    with pytest.raises(ImproperlyConfigured, match="name"):
        check_configuration()


def test_default_model_is_the_configured_ollama_model(llm_settings: Settings) -> None:
    llm_settings.OLLAMA_MODEL = "qwen2.5:0.5b"
    assert default_model() == "qwen2.5:0.5b"
