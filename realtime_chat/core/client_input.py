"""What a client's JSON must be before anything reads it, on the API and the socket alike.

Python's parser recurses once per nesting level, so a deeply nested document raises RecursionError (a 500, or a
dead consumer) instead of a parse error. And a string may hold NUL, which PostgreSQL refuses in text, or a lone
surrogate (`"\\ud800"`), which UTF-8 cannot encode: either fails deep inside a write or a send. Both are refused
here, at the door, as the client errors they are.
"""

import json
import re
from typing import Any

from realtime_chat.core.errors import ApplicationError

MAX_JSON_DEPTH = 64  # no request or frame of this product nests more than a few levels
_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
# Either character can only reach a parsed string through a \u escape (or as itself): text without one of these
# has no string to check, and only its nesting is walked. A cheap test on the raw text, in linear time.
_MAY_HOLD_FORBIDDEN = re.compile(r"\\u(?:0000|[dD][89abcdefABCDEF])|[\x00\ud800-\udfff]")
Trail = tuple["Trail", str | int] | None  # where a value sits: (its parent's trail, its key or index)


class InvalidJson(ApplicationError):
    code = "invalid_json"


class InvalidCharacters(ApplicationError):
    """NUL or a lone surrogate in a string: text no database or encoder of ours accepts."""

    code = "invalid_characters"


def json_parse(text: str) -> Any:
    """The JSON value in `text`, no deeper than MAX_JSON_DEPTH, every string (keys included) free of NUL and
    lone surrogates. Raises InvalidJson or InvalidCharacters, whose details never quote the client's text."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise _too_deep() from exc
    except ValueError as exc:  # JSONDecodeError, and NaN or Infinity
        raise InvalidJson(f"Not valid JSON: {_reason(exc)}.") from exc
    _inspect(value, strings=_MAY_HOLD_FORBIDDEN.search(text) is not None)
    return value


def text_check(value: str, *, field: str = "") -> None:
    """Raise InvalidCharacters if `value` holds NUL or a lone surrogate; `field` names it for the client."""
    found = _FORBIDDEN.search(value)
    if found is None:
        return
    what = "NUL characters are" if found.group() == "\x00" else "Lone surrogates (half a UTF-16 pair) are"
    raise InvalidCharacters(f"{field}: {what} not allowed in text." if field else f"{what} not allowed in text.")


def _inspect(value: Any, *, strings: bool) -> None:
    """Walk the value without recursion: refuse nesting past MAX_JSON_DEPTH and, with `strings`, forbidden text."""
    if isinstance(value, str):
        text_check(value)
    stack: list[tuple[Any, int, Trail]] = [(value, 0, None)]
    while stack:
        item, depth, trail = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise _too_deep()
        for key, child in item.items() if isinstance(item, dict) else enumerate(item):
            if strings and isinstance(key, str) and _FORBIDDEN.search(key):
                text_check(key, field=f"A key of {_path(trail) or 'the object'}")
            if strings and isinstance(child, str) and _FORBIDDEN.search(child):
                text_check(child, field=_path((trail, key)))
            elif isinstance(child, dict | list):
                stack.append((child, depth + 1, (trail, key)))


def _path(trail: Trail) -> str:
    """`history[0]`, `options.model`: where a value sits, for the client to find it."""
    parts: list[str] = []
    while trail is not None:
        trail, key = trail
        parts.append(f"[{key}]" if isinstance(key, int) else f".{_printable(key)}")
    return "".join(reversed(parts)).lstrip(".")


def _printable(key: str) -> str:
    """A key as it may be quoted back: short, and never the characters being refused."""
    return _FORBIDDEN.sub("?", key[:40])


def _too_deep() -> InvalidJson:
    return InvalidJson(f"The JSON document is nested more than {MAX_JSON_DEPTH} levels deep.")


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON value")


def _reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg.removesuffix(' at')} at line {exc.lineno}, column {exc.colno}"
    return str(exc)
