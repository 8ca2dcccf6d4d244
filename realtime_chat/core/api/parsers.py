"""Request body parsers: DRF's JSON parser held to the rules every client JSON meets (core.client_input)."""

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers

from realtime_chat.core.client_input import InvalidJson, json_parse


class JSONParser(parsers.JSONParser):
    """A body nested too deep is a 400 `invalid_json` (DRF's parser recursed into a 500), and a string holding NUL
    or a lone surrogate a 400 `invalid_characters`, whichever field or key it is in and whatever the database."""

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]  # DRF 3.18; stubs lag
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as exc:
            raise InvalidJson(f"The body is not valid {encoding} text.") from exc
        return json_parse(text)
