"""Client frames parsed from raw text: every way a frame can be wrong is a FrameError with its own code."""

import uuid

import pytest

from consumers.protocol import FrameError, MessageFrame, PingFrame, max_frame_chars, parse_client_text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{not json", "invalid_json"),
        ("[" * 50_000 + "]" * 50_000, "invalid_json"),
        ('{"type": "ping", "x": Infinity}', "invalid_json"),
        ('{"type": "message", "content": "a\\ud800"}', "invalid_characters"),
        ('{"type": "message", "content": "a\\u0000"}', "invalid_characters"),
        ('{"type": "message", "content": 42}', "invalid_frame"),
        ('{"type": "dance"}', "invalid_frame"),
    ],
)
def test_bad_text_is_a_frame_error_with_its_code(text: str, code: str) -> None:
    with pytest.raises(FrameError) as raised:
        parse_client_text(text)
    assert raised.value.code == code


def test_a_frame_over_the_cap_is_refused_before_it_is_parsed(settings) -> None:
    settings.CHAT_MAX_MESSAGE_CHARS = 10
    text = '{"type": "ping"}' + " " * max_frame_chars()
    with pytest.raises(FrameError) as raised:
        parse_client_text(text)
    assert raised.value.code == "frame_too_large"


def test_good_frames_parse() -> None:
    client_id = uuid.uuid4()
    text = f'{{"type": "message", "content": "h\\u00e9llo \\ud83d\\ude00", "client_id": "{client_id}"}}'
    assert parse_client_text(text) == MessageFrame(content="héllo \U0001f600", client_id=client_id)
    assert parse_client_text('{"type": "ping"}') == PingFrame()
