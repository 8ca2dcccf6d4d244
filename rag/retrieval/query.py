"""The retrieval query for a chat turn. A follow-up such as "and what are its side effects?" names nothing,
so the previous user turn joins a short or pronoun-led question."""

import re
from collections.abc import Sequence

SHORT_QUESTION_WORDS = 6
_FOLLOW_UP_START = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|it|its|it's|they|them|their|theirs|this|that|these|those|"
    r"he|she|his|her|him|the same|same|why|how come|more|another|which one|who else)\b",
    re.IGNORECASE,
)
_REFERS_BACK = re.compile(r"\b(it|its|they|them|their|this|that|these|those|the above|former|latter)\b", re.IGNORECASE)


def is_follow_up(query: str) -> bool:
    words = query.split()
    return (
        len(words) < SHORT_QUESTION_WORDS
        or bool(_FOLLOW_UP_START.match(query))
        or (len(words) < 2 * SHORT_QUESTION_WORDS and bool(_REFERS_BACK.search(query)))
    )


def build_retrieval_query(query: str, history: Sequence[str] = ()) -> str:
    """`history` is the previous user turns, newest last. Only the newest one is joined, and only to a
    follow-up: a self-contained question is searched as asked."""
    query = " ".join(query.split())
    previous = next((" ".join(turn.split()) for turn in reversed(history) if turn and turn.strip()), "")
    if previous and is_follow_up(query):
        return f"{previous} {query}"
    return query
