"""The prompt fits its token budget, counted by the counter it is handed; history goes oldest first."""

from realtime_chat.chat.prompting import MESSAGE_OVERHEAD_TOKENS, PromptParts, build_prompt
from realtime_chat.llm.factory import token_counter
from realtime_chat.llm.types import ChatMessage


def cost(text: str) -> int:
    return token_counter().count(text) + MESSAGE_OVERHEAD_TOKENS


def test_history_is_dropped_oldest_first_to_fit_the_budget() -> None:
    counter = token_counter()
    history = [ChatMessage(role="user" if n % 2 == 0 else "assistant", content=f"message {n} " * 5) for n in range(6)]
    whole = build_prompt(
        question="And now?", history=history, parts=PromptParts(), counter=counter, budget_tokens=100_000
    )
    assert [m.content for m in whole[1:-1]] == [m.content for m in history]
    budget = sum(cost(m.content) for m in [whole[0], whole[-1], *history[-2:]])
    prompt = build_prompt(
        question="And now?", history=history, parts=PromptParts(), counter=counter, budget_tokens=budget
    )
    assert prompt[0].role == "system"
    assert prompt[1:] == [*history[-2:], ChatMessage(role="user", content="And now?")]
    tighter = build_prompt(
        question="And now?", history=history, parts=PromptParts(), counter=counter, budget_tokens=budget - 1
    )
    assert tighter[1:] == [history[-1], ChatMessage(role="user", content="And now?")]


def test_persona_instructions_and_context_join_the_system_prompt() -> None:
    parts = PromptParts(persona="  Be a pirate.  ", rag_instructions="Cite passages.", context="[1] Text")
    prompt = build_prompt(question="q", history=[], parts=parts, counter=token_counter(), budget_tokens=10_000)
    assert prompt[0].content.endswith("\n\nBe a pirate.\n\nCite passages.\n\n[1] Text")
