"""Images in chat: what the model server receives (the images for a vision model, their OCR text for a text-only
one), the answer saying which, and the refusals (too many, someone else's). The vision model is a real HTTP server
speaking the Ollama API that records requests (no vision model runs here); the OCR path also runs on the real
bundled model over the socket."""

import asyncio
import base64
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from config.asgi import application
from realtime_chat.accounts.models import User
from realtime_chat.accounts.services import token_pair_issue
from realtime_chat.attachments.models import Attachment
from realtime_chat.attachments.services import attachment_create
from realtime_chat.chat.models import ChatSession, Message
from realtime_chat.chat.services.chat import member_add, preferences_update, session_create
from tests.consumers.test_chat import authed_socket, receive, receive_turn
from tests.realtime_chat.attachments import images
from tests.realtime_chat.attachments.recording_ollama import RecordingOllama, recording_ollama

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def session(user: User) -> ChatSession:
    preferences_update(user=user, max_tokens=24, use_rag=False, temperature=0.0)
    return session_create(user=user)


def text_attachment(user: User) -> Attachment:
    upload = SimpleUploadedFile("scan.png", images.encoded(images.text_image(), "PNG"))
    return attachment_create(user=user, upload=upload)


def recorder_as_model(settings, recorder: RecordingOllama) -> None:
    settings.OLLAMA_HOST = recorder.url
    settings.OLLAMA_MODEL = "vision-test"
    settings.OLLAMA_FALLBACK_HOST = ""
    settings.OPENAI_COMPAT_URL = ""
    settings.LLM_EXTRACTIVE_FALLBACK = False


@pytest.fixture
def vision_model(settings) -> Iterator[RecordingOllama]:
    with recording_ollama(capabilities=["completion", "vision"]) as recorder:
        recorder_as_model(settings, recorder)
        yield recorder


@pytest.fixture
def text_model(settings) -> Iterator[RecordingOllama]:
    with recording_ollama(capabilities=["completion"]) as recorder:
        recorder_as_model(settings, recorder)
        yield recorder


def post(client: APIClient, session: ChatSession, **payload: object) -> dict:
    response = client.post(reverse("session-messages", args=[session.pk]), payload, format="json")
    body = response.json()
    body["_status"] = response.status_code
    return body


def test_a_vision_model_receives_the_images_in_the_message(
    auth_client: APIClient, user: User, session: ChatSession, vision_model: RecordingOllama
) -> None:
    attachment = text_attachment(user)
    answer = post(auth_client, session, content="What is in this picture?", attachments=[attachment.pk])
    assert (answer["_status"], answer["status"], answer["image_input"]) == (201, "complete", "vision")
    (chat,) = vision_model.chats()
    question = chat["messages"][-1]
    assert question["role"] == "user" and question["content"] == "What is in this picture?"
    with attachment.file.open("rb") as stored:
        assert question["images"] == [base64.b64encode(stored.read()).decode()]  # the stored, metadata-free bytes
    assert all("images" not in message for message in chat["messages"][:-1])
    assert Attachment.objects.get().ocr_text is None  # no OCR for a model that sees


def test_a_vision_model_receives_a_large_image_reduced(
    auth_client: APIClient, user: User, session: ChatSession, vision_model: RecordingOllama
) -> None:
    upload = SimpleUploadedFile("wide.png", images.png((5000, 1000)))
    attachment = attachment_create(user=user, upload=upload)
    answer = post(auth_client, session, content="What is this?", attachments=[attachment.pk])
    assert (answer["_status"], answer["image_input"]) == (201, "vision")
    (sent,) = vision_model.chats()[0]["messages"][-1]["images"]
    with Image.open(io.BytesIO(base64.b64decode(sent))) as image:
        assert image.size == (2048, 410)


def test_a_text_only_model_receives_the_images_text_found_by_ocr(
    auth_client: APIClient, user: User, session: ChatSession, text_model: RecordingOllama
) -> None:
    attachment = text_attachment(user)
    answer = post(auth_client, session, content="What is the invoice number?", attachments=[attachment.pk])
    assert (answer["_status"], answer["image_input"]) == (201, "ocr")
    question = text_model.chats()[0]["messages"][-1]
    assert "images" not in question
    assert question["content"].startswith("What is the invoice number?\n\n<<< text found in the attached image 1 >>>")
    assert "48213" in question["content"] and "Maple Street Dublin" in question["content"]
    assert question["content"].endswith("<<< end of the text found in image 1 >>>")
    assert "48213" in (Attachment.objects.get().ocr_text or "")  # read once, kept for the next turn


def test_history_and_export_carry_the_attachments(
    auth_client: APIClient, user: User, session: ChatSession, text_model: RecordingOllama
) -> None:
    attachment = text_attachment(user)
    post(auth_client, session, content="", attachments=[attachment.pk])  # an image alone is a message
    history = auth_client.get(reverse("session-messages", args=[session.pk])).json()["results"]
    assert [m["attachments"] for m in history] == [
        [{"id": attachment.pk, "kind": "png", "content_type": "image/png", "width": attachment.width,
          "height": attachment.height, "bytes": attachment.bytes, "sha256": attachment.sha256}],
        [],
    ]  # fmt: skip
    assert [m["image_input"] for m in history] == ["", "ocr"]
    markdown = auth_client.get(reverse("session-export", args=[session.pk]), {"format": "md"}).content.decode()
    assert f"/api/attachments/{attachment.pk}/content/" in markdown


def test_more_than_four_attachments_are_refused_and_nothing_is_saved(
    auth_client: APIClient, user: User, session: ChatSession
) -> None:
    ids = [text_attachment(user).pk for _ in range(5)]
    refused = post(auth_client, session, content="look", attachments=ids)
    assert (refused["_status"], refused["code"]) == (400, "too_many_attachments")
    assert not Message.objects.exists()


def test_someone_elses_attachment_is_not_found_and_nothing_is_saved(
    auth_client: APIClient, stranger: User, session: ChatSession
) -> None:
    theirs = text_attachment(stranger)
    refused = post(auth_client, session, content="look", attachments=[theirs.pk])
    missing = post(auth_client, session, content="look", attachments=[theirs.pk + 100])
    assert (
        (refused["_status"], refused["code"]) == (missing["_status"], missing["code"]) == (404, "attachment_not_found")
    )
    assert not Message.objects.exists()


@pytest.mark.parametrize("attachment_id", [2**63, 10**21])
def test_an_id_beyond_any_key_is_not_found_not_a_server_error(
    auth_client: APIClient, session: ChatSession, attachment_id: int
) -> None:
    """Found by the API fuzz: the driver refused to bind such an id (a 500); it names no attachment, so a 404."""
    refused = post(auth_client, session, content="look", attachments=[attachment_id])
    assert (refused["_status"], refused["code"]) == (404, "attachment_not_found")
    assert refused["detail"] == f"Attachment {attachment_id} not found."
    assert not Message.objects.exists()


@pytest.mark.parametrize("attachments", [[0], [True], "1", [[1]], list(range(1, 70))])
def test_malformed_attachment_lists_are_400(auth_client: APIClient, session: ChatSession, attachments: object) -> None:
    refused = post(auth_client, session, content="look", attachments=attachments)
    assert refused["_status"] == 400 and refused["detail"]


def test_members_of_the_session_may_read_a_posted_image_others_may_not(
    auth_client: APIClient, user: User, stranger: User, session: ChatSession, text_model: RecordingOllama
) -> None:
    member = User.objects.create_user(username="member", password="x" * 12)
    member_add(session=session, username="member", role="viewer")
    attachment = text_attachment(user)
    unposted = text_attachment(user)
    post(auth_client, session, content="see", attachments=[attachment.pk])
    for who, expected in [(member, 200), (stranger, 404)]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=who)['access']}")
        for part in ("", "content/", "thumbnail/"):
            assert client.get(f"/api/attachments/{attachment.pk}/{part}").status_code == expected, (who, part)
        assert client.get(f"/api/attachments/{unposted.pk}/").status_code == 404  # not posted: the uploader's only


# --- over the socket ----------------------------------------------------------------------------


async def test_socket_refuses_too_many_and_foreign_attachments_with_error_frames(
    user: User, stranger: User, session: ChatSession
) -> None:
    mine = [await database_sync_to_async(text_attachment)(user) for _ in range(5)]
    theirs = await database_sync_to_async(text_attachment)(stranger)
    socket = await authed_socket(user, session.pk)
    for attachments, code in [
        ([a.pk for a in mine], "too_many_attachments"),
        ([theirs.pk], "attachment_not_found"),
        ([2**63], "attachment_not_found"),
        (["x"], "invalid_frame"),
    ]:
        await socket.send_json_to({"type": "message", "content": "look", "attachments": attachments})
        error = await receive(socket)
        assert (error["type"], error["code"]) == ("error", code)
    assert not await database_sync_to_async(Message.objects.filter(session=session).exists)()
    await socket.disconnect()


@pytest.mark.llm
@pytest.mark.usefixtures("chat_model")
async def test_an_image_over_the_socket_is_read_by_ocr_for_the_bundled_model_and_every_member_sees_it(
    user: User, session: ChatSession
) -> None:
    member = await database_sync_to_async(User.objects.create_user)(username="member2", password="x" * 12)
    await database_sync_to_async(member_add)(session=session, username="member2", role="member")
    attachment = await database_sync_to_async(text_attachment)(user)
    mine = await authed_socket(user, session.pk)
    theirs = await authed_socket(member, session.pk)
    await mine.send_json_to(
        {"type": "message", "content": "What is the invoice number?", "attachments": [attachment.pk]}
    )
    for socket in (mine, theirs):
        frames = await receive_turn(socket)
        created = next(f for f in frames if f["type"] == "message.created")
        assert [a["id"] for a in created["message"]["attachments"]] == [attachment.pk]
        end = frames[-1]
        assert (end["message"]["status"], end["message"]["image_input"]) == ("complete", "ocr")
        assert end["message"]["content"]
    await database_sync_to_async(attachment.refresh_from_db)()
    assert "48213" in (attachment.ocr_text or "")
    await mine.disconnect()
    await theirs.disconnect()


# --- nothing stalls the event loop --------------------------------------------------------------


class LoopLag:
    """How late a 10 ms tick on the test's event loop (the one the ASGI app runs on) ever woke up."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.task = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, loop.time() - before - 0.01)

    def stop(self) -> float:
        self.task.cancel()
        return self.worst


def multipart(name: str, data: bytes) -> tuple[bytes, bytes]:
    boundary = b"----imagesboundary7MA4YWxk"
    body = (
        b"--" + boundary + b"\r\n"
        b'Content-Disposition: form-data; name="file"; filename="' + name.encode() + b'"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n--" + boundary + b"--\r\n"
    )
    return body, b"multipart/form-data; boundary=" + boundary


async def upload_through_asgi(user: User, data: bytes) -> tuple[int, dict]:
    token = await database_sync_to_async(lambda: token_pair_issue(user=user)["access"])()
    body, content_type = multipart("photo.jpg", data)
    headers = [
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"host", b"testserver"),
    ]
    communicator = HttpCommunicator(application, "POST", "/api/attachments/", body=body, headers=headers)
    response = await communicator.get_response(timeout=120)
    return response["status"], json.loads(response["body"])


def big_photo() -> bytes:
    """A 24 MP photo-like JPEG (noise does not compress): seconds of decoding and re-encoding."""
    noise = Image.effect_noise((6000, 4000), 64).convert("RGB")
    return images.encoded(noise, "JPEG", quality=85)


async def test_decoding_an_upload_and_ocr_in_a_turn_never_stall_the_event_loop(
    user: User, session: ChatSession, text_model: RecordingOllama, settings
) -> None:
    settings.ATTACHMENT_MAX_BYTES = 50 * 1024 * 1024
    photo, bomb = await asyncio.to_thread(lambda: (big_photo(), images.png_bomb()))  # made off the loop
    lag = LoopLag()
    started = time.perf_counter()
    status, uploaded = await upload_through_asgi(user, photo)
    upload_seconds = time.perf_counter() - started
    bomb_status, _ = await upload_through_asgi(user, bomb)
    scan = await database_sync_to_async(text_attachment)(user)
    socket = await authed_socket(user, session.pk)
    await socket.send_json_to({"type": "message", "content": "What does it say?", "attachments": [scan.pk]})
    frames = await receive_turn(socket)
    worst = lag.stop()
    await socket.disconnect()
    assert (status, uploaded["width"], bomb_status) == (201, 6000, 413)
    assert frames[-1]["message"]["image_input"] == "ocr"
    # Decoding and re-encoding took most of a second or more: on the loop, it would have stalled it that long. Off
    # it, the loop only waits for its turn at the GIL (longer on a busy machine, but a small part of the work).
    assert upload_seconds > 0.3
    stalled = f"the loop stalled {worst * 1000:.0f} ms (upload: {upload_seconds:.1f} s)"
    assert worst < min(1.0, upload_seconds / 3), stalled
