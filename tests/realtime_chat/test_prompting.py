"""The prompt fits its token budget, counted with the model's own tokenizer; counts are remembered by content."""

from realtime_chat.llm.types import ChatMessage
from realtime_chat.prompting import (
    MESSAGE_OVERHEAD_TOKENS,
    PromptParts,
    TokenCounts,
    _tokenizer,
    build_prompt,
    count_tokens,
)

TEXT = "The Quenby lighthouse was founded in 1873; its lamp burns whale oil."


def tokenizer_count(text: str) -> int:
    return len(_tokenizer().tokenize(text.encode("utf-8"), add_bos=False, special=False)) + MESSAGE_OVERHEAD_TOKENS


def test_a_count_is_the_tokenizers_own_and_is_remembered() -> None:
    counts = TokenCounts(size=8)
    assert counts.count(TEXT) == tokenizer_count(TEXT)
    assert counts.count(TEXT) == tokenizer_count(TEXT)
    assert len(counts) == 1


def test_a_changed_text_is_counted_again_not_taken_from_memory() -> None:
    counts = TokenCounts(size=8)
    counts.count(TEXT)
    edited = TEXT + " It was rebuilt after the storm of 1901, twice as tall."
    assert counts.count(edited) == tokenizer_count(edited) > tokenizer_count(TEXT)
    assert len(counts) == 2


def test_only_the_most_recent_counts_are_kept() -> None:
    counts = TokenCounts(size=2)
    texts = ["one", "two words", "three short words"]
    for text in texts:
        counts.count(text)
    assert len(counts) == 2
    assert [counts.count(text) for text in texts] == [tokenizer_count(text) for text in texts]
    assert len(counts) == 2


def test_count_tokens_counts_like_the_tokenizer() -> None:
    assert count_tokens(TEXT) == count_tokens(TEXT) == tokenizer_count(TEXT)
    assert count_tokens("") == MESSAGE_OVERHEAD_TOKENS


def test_history_is_dropped_oldest_first_to_fit_the_budget() -> None:
    history = [ChatMessage(role="user" if n % 2 == 0 else "assistant", content=f"message {n} " * 5) for n in range(6)]
    whole = build_prompt(question="And now?", history=history, parts=PromptParts(), budget_tokens=100_000)
    assert [m.content for m in whole[1:-1]] == [m.content for m in history]
    budget = sum(count_tokens(m.content) for m in [whole[0], whole[-1], *history[-2:]])
    prompt = build_prompt(question="And now?", history=history, parts=PromptParts(), budget_tokens=budget)
    assert prompt[0].role == "system"
    assert prompt[1:] == [*history[-2:], ChatMessage(role="user", content="And now?")]
