"""The last resort answers without any model, and says so."""

from realtime_chat.llm.extractive import HEADING, ExtractiveProvider, extractive_answer
from realtime_chat.llm.types import ChatMessage, Finished, GenerationOptions
from tests.realtime_chat.llm.events import Passage, assert_well_formed, collect, text_of

QUESTION = [ChatMessage(role="user", content="What does the contract say about notice?")]


def passage(number: int, text: str, page: int | None = 3) -> Passage:
    return Passage(document_title=f"Document {number}", page=page, text=text)


def test_passages_are_quoted_in_two_sentences_each_and_cited() -> None:
    answer = extractive_answer([passage(1, "First. Second!   Third? Fourth."), passage(2, "Only one", page=None)])
    assert answer.splitlines()[0] == HEADING
    assert "[1] Document 1, p. 3: First. Second!\n" in answer
    assert "Third" not in answer
    assert answer.endswith("[2] Document 2: Only one")


def test_at_most_three_passages_are_quoted() -> None:
    answer = extractive_answer([passage(number, f"Passage {number}.") for number in range(1, 6)])
    assert "[3]" in answer
    assert "[4]" not in answer


def test_a_long_sentence_is_cut_at_a_word() -> None:
    answer = extractive_answer([passage(1, "word " * 200)])
    quote = answer.split(": ", 1)[1]
    assert quote.endswith("word…")
    assert len(quote) <= 401


def test_without_passages_it_says_no_model_is_reachable_and_why() -> None:
    answer = extractive_answer([], ["ollama/m: connection refused", "openai-compatible/m: timed out"])
    assert answer.startswith("No language model is reachable right now")
    assert "- ollama/m: connection refused" in answer
    assert "- openai-compatible/m: timed out" in answer
    assert "try again" in answer


async def test_the_answer_streams_as_word_groups_labelled_extractive() -> None:
    options = GenerationOptions(passages=(passage(1, "Notice is thirty days. It must be written."),))
    events = await collect(ExtractiveProvider().stream(QUESTION, options))
    started, finished = assert_well_formed(events)
    assert (started.provider, started.model) == ("extractive", "extractive")
    assert text_of(events) == extractive_answer(options.passages)
    assert len(events) > 3
    assert finished == Finished(prompt_tokens=0, completion_tokens=len(text_of(events).split()))


async def test_it_offers_no_model_to_pick() -> None:
    assert await ExtractiveProvider().models() == []
