"""The server frame builders and the validator the socket tests check every received frame with: the validator
must refuse what a client could not rely on, or those tests would prove nothing."""

import copy
import json
import uuid
from typing import Any, get_args, get_type_hints

import pytest

from rag.grounding import Source
from realtime_chat.accounts.models import User
from realtime_chat.chat import frames
from realtime_chat.chat.frames import MessageData, ServerFrame, check_server_frame
from realtime_chat.chat.models import Message
from realtime_chat.chat.serializers import MessageSerializer, message_data
from realtime_chat.chat.services.chat import session_create
from realtime_chat.core.errors import NotFound

CLIENT_ID = uuid.UUID("6f1c2a9e-0d4b-4c1e-9a51-3f0e8d2b7c10")
SOURCE = Source(number=1, chunk_id=7, document_id=3, title="Quenby", page=None, snippet="…", cited=True)
ATTACHMENT = frames.AttachmentData(
    id=9, kind="jpeg", content_type="image/jpeg", width=640, height=480, bytes=51234, sha256="ab" * 32
)
MESSAGE: MessageData = {
    "id": 12, "session_id": 4, "role": "assistant", "author": None, "content": "Hello [1]", "status": "complete",
    "client_id": None,
    "model": "smollm2:135m", "provider": "ollama@http://127.0.0.1:11434", "fallback_from": [], "error": "",
    "prompt_tokens": 30, "completion_tokens": 3, "first_token_ms": 41, "total_ms": 90, "sources": [SOURCE],
    "attachments": [ATTACHMENT], "image_input": "ocr",
    "persona_id": 2, "persona_name": "Captain", "memories_used": [5, 8], "created_at": "2025-01-01T12:00:00.000000Z",
}  # fmt: skip
MEMORY = frames.MemoryData(id=5, content="I prefer metric units", source_session=4, created_at="2025-01-01T12:00Z")
USAGE = frames.Usage(
    prompt_tokens=30, completion_tokens=3, first_token_ms=40.5, provider_first_token_ms=12.25, total_ms=90.1
)

EVERY_FRAME: list[ServerFrame] = [
    frames.ready(session_id=4, user="ada", expires_in=300),
    frames.auth_renewed(expires_in=299),
    frames.pong(),
    frames.message_created(
        message={**MESSAGE, "role": "user", "author": "ada", "client_id": str(CLIENT_ID)}, client_id=CLIENT_ID
    ),
    frames.message_created(message=MESSAGE, client_id=None, duplicate=True),
    frames.assistant_start(message_id=12, model="smollm2:135m", provider="ollama@x", fallback_from=("ollama@y",)),
    frames.assistant_start(
        message_id=12, model="m", provider="p", fallback_from=(), persona_id=2, persona_name="C", memories_used=[5]
    ),
    frames.assistant_queued(message_id=12, provider="ollama", position=2),
    frames.token(message_id=12, delta="Hel", offset=0),
    frames.assistant_snapshot(message_id=12, content="Hello", model="smollm2:135m", provider="ollama@x"),
    frames.sources(message_id=12, sources=[SOURCE]),
    frames.sources(message_id=12, sources=[]),
    frames.assistant_end(message=MESSAGE, usage=USAGE),
    frames.assistant_end(message=MESSAGE, usage={**USAGE, "first_token_ms": None, "prompt_tokens": None}),
    frames.presence(online=["ada", "bob"]),
    frames.presence(online=[]),
    frames.typing(user="ada"),
    frames.memory_saved(memory=MEMORY),
    frames.memory_saved(memory={"id": 6, "content": "x", "source_session": None, "created_at": "2025"}),
    frames.memory_proposed(message_id=12, proposals=["The user is a nurse."]),
    frames.memory_proposed(message_id=12, proposals=[]),
    frames.error(code="invalid_json", detail="Frames must be JSON text."),
    frames.error_from(NotFound("Not found."), client_id=CLIENT_ID),
    frames.error(code="invalid", detail="content: This field is required.", errors={"content": ["Required."]}),
]


def changed(frame: ServerFrame, path: tuple[Any, ...], value: Any) -> dict:
    """A deep copy of `frame` with the value at `path` replaced (or removed, for `...`)."""
    result: Any = copy.deepcopy(frame)
    target = result
    for step in path[:-1]:
        target = target[step]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return result


@pytest.mark.parametrize("frame", EVERY_FRAME, ids=lambda frame: frame["type"])
def test_every_builder_makes_a_frame_the_validator_accepts_before_and_after_json(frame: ServerFrame) -> None:
    check_server_frame(frame)
    check_server_frame(json.loads(json.dumps(frame)))


def test_every_server_frame_type_has_a_builder_that_is_checked_here() -> None:
    declared = {get_args(get_type_hints(schema)["type"])[0] for schema in get_args(ServerFrame)}
    assert {frame["type"] for frame in EVERY_FRAME} == declared


def test_optional_keys_appear_only_when_given() -> None:
    assert frames.error(code="x", detail="y") == {"type": "error", "code": "x", "detail": "y"}
    assert frames.error_from(NotFound("gone"), client_id=CLIENT_ID)["client_id"] == str(CLIENT_ID)
    assert "duplicate" not in frames.message_created(message=MESSAGE, client_id=None)
    assert frames.message_created(message=MESSAGE, client_id=None, duplicate=True)["duplicate"] is True


@pytest.mark.parametrize(
    ("frame", "path", "value"),
    [
        (frames.token(message_id=1, delta="a", offset=0), ("message_id",), "1"),  # a string id
        (frames.token(message_id=1, delta="a", offset=0), ("message_id",), True),  # a bool is not an int
        (frames.token(message_id=1, delta="a", offset=0), ("delta",), None),
        (frames.ready(session_id=1, user="ada", expires_in=300), ("expires_in",), 299.5),
        (frames.error(code="x", detail="y"), ("client_id",), 42),  # an optional key of the wrong type
        (frames.message_created(message=MESSAGE, client_id=None, duplicate=True), ("duplicate",), 1),
        (frames.assistant_start(message_id=1, model="m", provider="p", fallback_from=[]), ("fallback_from",), "p"),
        (frames.assistant_start(message_id=1, model="m", provider="p", fallback_from=[]), ("fallback_from",), [3]),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(frame: ServerFrame, path: tuple, value: Any) -> None:
    with pytest.raises(ValueError, match=f"{frame['type']}.{path[0]}.*: expected"):
        check_server_frame(changed(frame, path, value))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("message", "status"), "finished"),  # not one of the model's statuses
        (("message", "total_ms"), "90"),
        (("message", "sources", 0, "page"), "3"),
        (("message", "sources", 0, "cited"), 1),
        (("message", "attachments", 0, "width"), "640"),
        (("message", "image_input"), "both"),
        (("usage", "total_ms"), None),
        (("usage", "first_token_ms"), False),
    ],
)
def test_a_wrong_type_inside_a_nested_shape_is_refused(path: tuple, value: Any) -> None:
    frame = frames.assistant_end(message=MESSAGE, usage=USAGE)
    with pytest.raises(ValueError, match=r"assistant\.end\." + path[0]):
        check_server_frame(changed(frame, path, value))


@pytest.mark.parametrize(
    ("frame", "path"),
    [
        (frames.token(message_id=1, delta="a", offset=0), ("delta",)),
        (frames.message_created(message=MESSAGE, client_id=None), ("client_id",)),  # required even when null
        (frames.assistant_end(message=MESSAGE, usage=USAGE), ("message", "created_at")),
        (frames.assistant_end(message=MESSAGE, usage=USAGE), ("usage", "total_ms")),
        (frames.sources(message_id=1, sources=[SOURCE]), ("sources", 0, "chunk_id")),
    ],
)
def test_a_missing_key_is_refused(frame: ServerFrame, path: tuple) -> None:
    with pytest.raises(ValueError, match="missing"):
        check_server_frame(changed(frame, path, ...))


@pytest.mark.parametrize(
    ("frame", "path"),
    [
        (frames.pong(), ("at",)),
        (frames.error(code="x", detail="y"), ("reasons",)),
        (frames.assistant_end(message=MESSAGE, usage=USAGE), ("message", "secret")),
        (frames.sources(message_id=1, sources=[SOURCE]), ("sources", 0, "text")),
    ],
)
def test_an_unexpected_key_is_refused(frame: ServerFrame, path: tuple) -> None:
    with pytest.raises(ValueError, match="unexpected"):
        check_server_frame(changed(frame, path, "x"))


@pytest.mark.parametrize("frame", [None, [], "pong", {}, {"type": None}, {"type": "message"}, {"type": "ping"}])
def test_anything_but_a_server_frame_is_refused(frame: Any) -> None:
    with pytest.raises(ValueError, match="not a known server frame"):
        check_server_frame(frame)


def test_message_data_keys_and_choices_are_the_models() -> None:
    hints = get_type_hints(MessageData)
    assert list(hints) == MessageSerializer.Meta.fields
    assert set(get_args(hints["role"])) == set(Message.Role.values)
    assert set(get_args(hints["status"])) == set(Message.Status.values)


@pytest.mark.django_db
@pytest.mark.parametrize("client_id", [None, CLIENT_ID])
def test_message_data_of_a_saved_message_is_a_valid_frame_message(user: User, client_id: uuid.UUID | None) -> None:
    message = Message.objects.create(
        session=session_create(user=user), role="user", content="hi", client_id=client_id, sources=[SOURCE]
    )
    check_server_frame(frames.message_created(message=message_data(message), client_id=client_id))
    message.refresh_from_db()
    check_server_frame(frames.assistant_end(message=message_data(message), usage=USAGE))
