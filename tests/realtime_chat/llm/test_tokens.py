"""Token counters: the bundled model's own tokenizer where it is the model, an estimate elsewhere, counts
remembered by content; llama.cpp is imported only for the bundled model."""

import subprocess
import sys

from realtime_chat.llm.factory import token_counter
from realtime_chat.llm.tokens import EstimatedTokenCounter, RememberedTokenCounts
from realtime_chat.local_model.model_file import configured_model_path
from realtime_chat.local_model.tokenizer import GgufTokenCounter

TEXT = "The Quenby lighthouse was founded in 1873; its lamp burns whale oil."


class CountingCounter:
    """A real counter (the estimate) that also records which texts reached it."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def count(self, text: str) -> int:
        self.seen.append(text)
        return EstimatedTokenCounter().count(text)


def gguf_count(text: str) -> int:
    return GgufTokenCounter(configured_model_path()).count(text)


def test_the_bundled_model_is_counted_with_its_own_tokenizer(settings) -> None:
    settings.OLLAMA_MODEL = settings.LOCAL_MODEL_NAME
    assert token_counter().count(TEXT) == gguf_count(TEXT)
    assert token_counter(model=settings.LOCAL_MODEL_NAME).count(TEXT) == gguf_count(TEXT)


def test_another_model_is_counted_by_an_estimate_that_errs_long(settings) -> None:
    settings.OLLAMA_MODEL = "llama3.1:8b"
    estimate = token_counter().count(TEXT)
    assert estimate == EstimatedTokenCounter().count(TEXT)
    assert estimate >= gguf_count(TEXT)
    assert token_counter(model="qwen2.5:0.5b").count("é" * 30) == 20  # bytes, not characters


def test_a_count_is_remembered_by_content() -> None:
    inner = CountingCounter()
    counts = RememberedTokenCounts(inner, size=8)
    assert counts.count(TEXT) == counts.count(TEXT) == EstimatedTokenCounter().count(TEXT)
    assert inner.seen == [TEXT]
    edited = TEXT + " It was rebuilt after the storm of 1901, twice as tall."
    assert counts.count(edited) > counts.count(TEXT)
    assert inner.seen == [TEXT, edited]
    assert len(counts) == 2


def test_only_the_most_recent_counts_are_kept() -> None:
    inner = CountingCounter()
    counts = RememberedTokenCounts(inner, size=2)
    for text in ["one", "two words", "three short words"]:
        counts.count(text)
    assert len(counts) == 2
    counts.count("one")  # forgotten, so counted again
    assert inner.seen == ["one", "two words", "three short words", "one"]


def test_a_server_talking_to_another_model_never_imports_llama_cpp() -> None:
    script = (
        "import sys, django; django.setup()\n"
        "from django.conf import settings\n"
        "from django.urls import resolve; resolve('/api/health/')\n"
        "from realtime_chat.chat.prompting import PromptParts, build_prompt\n"
        "from realtime_chat.llm.factory import token_counter\n"
        "build_prompt(question='hi', history=[], parts=PromptParts(), counter=token_counter())\n"
        "import asgi\n"
        "print('llama_cpp' in sys.modules)\n"
    )
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "OLLAMA_MODEL": "llama3.1:8b", "PATH": "/usr/bin:/bin"}
    found = subprocess.run(  # noqa: S603  (our own interpreter)
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert found.stdout.strip().splitlines()[-1] == "False"
