"""Request bodies are capped before they are read (issue 14), through the real ASGI application. daphne's own
layer, which refuses before daphne buffers anything, is tested over a real socket in tests/live."""

import json

import pytest
from channels.testing import ApplicationCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from config.asgi import application

JSON = [(b"content-type", b"application/json")]
MULTIPART = [(b"content-type", b"multipart/form-data; boundary=x")]


@pytest.fixture(autouse=True)
def _small_limits(settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.REQUEST_MAX_BODY_BYTES = 5000


def request_to(path: str, headers: list[tuple[bytes, bytes]]) -> ApplicationCommunicator:
    scope = {"type": "http", "http_version": "1.1", "method": "POST", "path": path, "query_string": b"",
             "headers": [(b"host", b"testserver"), *headers]}  # fmt: skip
    return ApplicationCommunicator(application, scope)


async def response_of(communicator: ApplicationCommunicator) -> tuple[int, dict]:
    start = await communicator.receive_output(timeout=5)
    assert start["type"] == "http.response.start"
    body = b""
    while True:
        message = await communicator.receive_output(timeout=5)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    assert {name.lower(): value for name, value in start["headers"]}[b"content-type"] == b"application/json"
    return start["status"], json.loads(body)


def assert_too_large(status: int, body: dict, *, limit: int) -> None:
    assert status == 413
    assert body["code"] == "request_too_large" and body["limit_bytes"] == limit
    assert f"limit of {limit} bytes" in body["detail"] or f"the limit is {limit} bytes" in body["detail"]


@pytest.mark.parametrize(("headers", "limit"), [(JSON, 1000), (MULTIPART, 5000)])
async def test_a_body_over_its_limit_is_refused_from_its_length_without_being_read(headers, limit) -> None:
    communicator = request_to("/api/auth/login/", [*headers, (b"content-length", str(limit + 1).encode())])
    # No body is ever sent: the answer comes from the headers alone.
    status, body = await response_of(communicator)
    assert_too_large(status, body, limit=limit)
    assert "is 1001 bytes" in body["detail"] or "is 5001 bytes" in body["detail"]
    await communicator.wait(timeout=5)


async def test_a_multipart_body_may_be_as_large_as_an_upload() -> None:
    communicator = request_to("/api/documents/", [*MULTIPART, (b"content-length", b"3000")])
    await communicator.send_input({"type": "http.request", "body": b"x" * 3000})
    status, body = await response_of(communicator)
    assert status == 401 and body["code"] == "not_authenticated"  # it reached the view


async def test_a_body_without_a_length_is_cut_off_once_it_passes_the_limit() -> None:
    communicator = request_to("/api/auth/login/", JSON)
    await communicator.send_input({"type": "http.request", "body": b"x" * 600, "more_body": True})
    await communicator.send_input({"type": "http.request", "body": b"x" * 600, "more_body": True})
    status, body = await response_of(communicator)
    assert_too_large(status, body, limit=1000)
    await communicator.wait(timeout=5)  # the application behind saw the client leave and sent nothing more


async def test_a_body_within_its_limit_reaches_the_application() -> None:
    communicator = request_to("/api/health/live/", [*JSON, (b"content-length", b"2")])
    await communicator.send_input({"type": "http.request", "body": b"{}"})
    status, body = await response_of(communicator)
    assert status == 405 and body["code"] == "method_not_allowed"


# Django's own limits, met while DRF parses a form, are client errors in the API's JSON shape, not 500s.


@pytest.mark.django_db
def test_form_fields_over_the_memory_limit_are_413(auth_client) -> None:
    form = {"file": SimpleUploadedFile("a.txt", b"hello"), "title": "t" * 2000}
    response = auth_client.post(reverse("document-list"), form, format="multipart")
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large" and response.json()["detail"]


@pytest.mark.django_db
def test_too_many_files_is_400(auth_client, settings) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    files = {f"file{i}": SimpleUploadedFile(f"a{i}.txt", b"x") for i in range(4)}
    response = auth_client.post(reverse("document-list"), files, format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "too_many_files" and "limit is 3" in response.json()["detail"]


@pytest.mark.django_db
def test_too_many_form_fields_is_400(auth_client, settings) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    form = {**{f"field{i}": "x" for i in range(4)}, "file": SimpleUploadedFile("a.txt", b"x")}
    response = auth_client.post(reverse("document-list"), form, format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "too_many_fields" and "limit is 3" in response.json()["detail"]
