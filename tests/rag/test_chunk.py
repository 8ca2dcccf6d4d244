"""The chunker on literal blocks, with a whitespace tokenizer (a fake of the Tokenizer protocol)."""

import itertools

import pytest

from rag.ingestion.chunk import Chunker, search_text
from rag.ingestion.parsers import TextBlock


class WordTokenizer:
    def count(self, texts):
        return [len(text.split()) for text in texts]

    def split(self, text, max_tokens):
        words = text.split()
        return [" ".join(words[i : i + max_tokens]) for i in range(0, len(words), max_tokens)]


def words(prefix: str, n: int) -> str:
    return " ".join(f"{prefix}{i}" for i in range(n))


def chunker(size: int = 20, overlap: int = 5) -> Chunker:
    return Chunker(tokenizer=WordTokenizer(), chunk_tokens=size, overlap_tokens=overlap)


def test_paragraphs_are_packed_whole_up_to_the_budget():
    blocks = [TextBlock(words("a", 8)), TextBlock(words("b", 8)), TextBlock(words("c", 8))]
    drafts = chunker(overlap=0).split(blocks)
    assert [d.token_count for d in drafts] == [16, 8]
    assert drafts[0].text == f"{words('a', 8)}\n\n{words('b', 8)}"
    assert [d.position for d in drafts] == [0, 1]


def test_consecutive_chunks_overlap_by_whole_paragraphs():
    blocks = [TextBlock(words(p, 4)) for p in "abcdefghijkl"]
    drafts = chunker(size=16, overlap=4).split(blocks)
    assert len(drafts) > 1
    for first, second in itertools.pairwise(drafts):
        assert first.text.split("\n\n")[-1] == second.text.split("\n\n")[0]
    assert all(d.token_count <= 16 for d in drafts)


def test_a_heading_starts_a_new_chunk_and_labels_the_following_ones():
    blocks = [TextBlock(words("intro", 3)), TextBlock("Side effects", heading=True), TextBlock(words("s", 30))]
    drafts = chunker().split(blocks)
    assert drafts[0].heading == "" and drafts[0].text == words("intro", 3)
    assert drafts[1].text.startswith("Side effects")
    assert {d.heading for d in drafts[1:]} == {"Side effects"}


def test_chunks_never_span_pages_and_keep_their_page_number():
    blocks = [TextBlock(words("p1x", 3), page=1), TextBlock(words("p2x", 3), page=2)]
    drafts = chunker().split(blocks)
    assert [(d.page, d.text) for d in drafts] == [(1, words("p1x", 3)), (2, words("p2x", 3))]


def test_over_long_paragraphs_split_by_sentence_then_by_tokens():
    sentence = words("w", 50) + "."
    drafts = chunker(size=20, overlap=0).split([TextBlock(f"Short one. {sentence}")])
    assert all(d.token_count <= 20 for d in drafts)
    assert " ".join(d.text for d in drafts).split() == f"Short one. {sentence}".split()


def test_reserved_tokens_shrink_the_budget():
    blocks = [TextBlock(words("a", 10)), TextBlock(words("b", 10))]
    drafts = chunker(size=20, overlap=0).split(blocks, reserved_tokens=5)
    assert [d.token_count for d in drafts] == [10, 10]


def test_chunker_validates_its_configuration():
    with pytest.raises(ValueError, match="chunk_tokens"):
        Chunker(tokenizer=WordTokenizer(), chunk_tokens=4, overlap_tokens=0)
    with pytest.raises(ValueError, match="overlap_tokens"):
        Chunker(tokenizer=WordTokenizer(), chunk_tokens=20, overlap_tokens=15)


def test_search_text_prefixes_the_title():
    assert search_text(title="Aspirin", text="Reduces fever.") == "Aspirin\n\nReduces fever."
    assert search_text(title="", text="Reduces fever.") == "Reduces fever."
