"""POST /api/attachments/ and reading an image back: checks, re-encoding, metadata stripped, scoping."""

import hashlib
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from realtime_chat.accounts.models import User
from realtime_chat.attachments.models import Attachment
from tests.realtime_chat.attachments import images
from tests.realtime_chat.attachments.conftest import stored_files

pytestmark = pytest.mark.django_db
URL = "/api/attachments/"


def upload(client: APIClient, data: bytes, name: str = "image.png") -> dict:
    response = client.post(URL, {"file": SimpleUploadedFile(name, data)}, format="multipart")
    body = response.json()
    body["_status"] = response.status_code
    return body


def content(client: APIClient, attachment_id: int, part: str = "content") -> bytes:
    response = client.get(f"{URL}{attachment_id}/{part}/")
    assert response.status_code == 200, response
    return b"".join(response.streaming_content)


def test_upload_returns_the_metadata_of_the_stored_image(auth_client: APIClient, user: User) -> None:
    body = upload(auth_client, images.png((64, 48)))
    assert body["_status"] == 201
    assert (body["kind"], body["width"], body["height"], body["content_type"]) == ("png", 64, 48, "image/png")
    stored = content(auth_client, body["id"])
    assert body["bytes"] == len(stored)
    assert body["sha256"] == hashlib.sha256(stored).hexdigest()
    assert auth_client.get(f"{URL}{body['id']}/").json() == {k: v for k, v in body.items() if k != "_status"}
    attachment = Attachment.objects.get()
    assert attachment.owner == user
    assert Path(attachment.file.name).stem != "image"  # a generated name, never the client's


def test_the_content_response_is_the_image_and_nothing_a_browser_could_run(auth_client: APIClient) -> None:
    body = upload(auth_client, images.png())
    response = auth_client.get(f"{URL}{body['id']}/content/", HTTP_ACCEPT="image/avif,image/*")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_exif_and_comments_of_a_jpeg_are_stripped(auth_client: APIClient) -> None:
    original = images.jpeg_with_exif()
    assert b"SecretCamCorp" in original and b"secret comment" in original
    body = upload(auth_client, original, "photo.jpg")
    assert (body["_status"], body["kind"], body["content_type"]) == (201, "jpeg", "image/jpeg")
    stored = content(auth_client, body["id"])
    assert b"SecretCamCorp" not in stored and b"SpyPhone" not in stored and b"secret comment" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif()
        assert "exif" not in image.info and "comment" not in image.info


def test_text_chunks_of_a_png_are_stripped(auth_client: APIClient) -> None:
    body = upload(auth_client, images.png_with_text_chunk())
    assert body["_status"] == 201
    assert b"SecretAuthorName" not in content(auth_client, body["id"])


def test_a_gif_is_stored_as_its_first_frame(auth_client: APIClient) -> None:
    body = upload(auth_client, images.gif_animation(), "moving.gif")
    assert (body["_status"], body["kind"], body["content_type"]) == (201, "gif", "image/png")
    with Image.open(io.BytesIO(content(auth_client, body["id"]))) as image:
        assert getattr(image, "n_frames", 1) == 1
        assert image.convert("RGB").getpixel((60, 40)) == (255, 0, 0)  # the first (red) frame


def test_webp_is_accepted(auth_client: APIClient) -> None:
    body = upload(auth_client, images.encoded(images.picture(), "WEBP"), "x.webp")
    assert (body["_status"], body["kind"]) == (201, "webp")


def test_the_type_comes_from_the_bytes_not_the_name(auth_client: APIClient) -> None:
    assert upload(auth_client, images.png(), "holiday.jpg")["kind"] == "png"
    refused = upload(auth_client, images.HTML, "innocent.png")
    assert (refused["_status"], refused["code"]) == (415, "unsupported_image")


def test_the_thumbnail_is_a_small_jpeg_made_once(auth_client: APIClient) -> None:
    body = upload(auth_client, images.png((1200, 600)))
    thumbnail = content(auth_client, body["id"], "thumbnail")
    with Image.open(io.BytesIO(thumbnail)) as image:
        assert (image.format, image.size) == ("JPEG", (320, 160))
    assert content(auth_client, body["id"], "thumbnail") == thumbnail


HOSTILE = {
    "decompression bomb (64 MP in a few KB)": (images.png_bomb(), 413, "image_too_large"),
    "huge dimensions, tiny bytes (PNG header)": (images.png_claiming(100_000, 100_000), 413, "image_too_large"),
    "huge logical screen (GIF)": (images.gif_claiming(65_535, 65_535), 413, "image_too_large"),
    "truncated PNG": (images.png((300, 300))[:-200], 400, "invalid_image"),
    "truncated JPEG": (images.encoded(images.picture((300, 300)), "JPEG")[:-300], 400, "invalid_image"),
    "PNG + ZIP polyglot": (images.png() + images.zip_archive(), 400, "invalid_image"),
    "JPEG + HTML polyglot": (images.encoded(images.picture(), "JPEG") + images.HTML, 400, "invalid_image"),
    "WebP with data after its container": (images.encoded(images.picture(), "WEBP") + b"junk", 400, "invalid_image"),
    "PNG with a corrupt image stream": (images.png_claiming(8, 8), 400, "invalid_image"),
    "SVG (scripts inside)": (images.SVG, 415, "unsupported_image"),
    "HTML named .png": (images.HTML, 415, "unsupported_image"),
    "a ZIP": (images.zip_archive(), 415, "unsupported_image"),
    "empty": (b"", 400, "empty_file"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_file_is_a_clear_4xx_and_nothing_is_stored(
    auth_client: APIClient, media_root: Path, case: str
) -> None:
    data, status, code = HOSTILE[case]
    body = upload(auth_client, data, "upload.png")
    assert (body["_status"], body["code"]) == (status, code), body
    assert body["detail"]
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_a_file_over_the_size_cap_is_413(auth_client: APIClient, settings) -> None:
    settings.ATTACHMENT_MAX_BYTES = 1000
    body = upload(auth_client, images.png((400, 400)))
    assert (body["_status"], body["code"]) == (413, "file_too_large")


def test_the_quota_is_per_user(auth_client: APIClient, stranger_client: APIClient, settings) -> None:
    first = upload(auth_client, images.png())
    settings.ATTACHMENT_QUOTA_BYTES = first["bytes"] + 2000
    second = upload(auth_client, images.png((600, 600)))
    assert (second["_status"], second["code"]) == (413, "quota_exceeded")
    assert upload(stranger_client, images.png())["_status"] == 201  # the stranger's own quota is untouched
    assert Attachment.objects.count() == 2


def test_two_files_in_one_request_are_refused(auth_client: APIClient) -> None:
    files = {"file": SimpleUploadedFile("a.png", images.png()), "other": SimpleUploadedFile("b.png", images.png())}
    response = auth_client.post(URL, files, format="multipart")
    assert response.status_code == 400 and response.json()["detail"]


def test_no_file_is_400(auth_client: APIClient) -> None:
    response = auth_client.post(URL, {}, format="multipart")
    assert response.status_code == 400 and response.json()["detail"]


@pytest.mark.parametrize("part", ["", "content/", "thumbnail/"])
def test_a_stranger_gets_the_same_404_as_for_a_missing_attachment(
    auth_client: APIClient, stranger_client: APIClient, part: str
) -> None:
    attachment_id = upload(auth_client, images.png())["id"]
    theirs = stranger_client.get(f"{URL}{attachment_id}/{part}")
    missing = stranger_client.get(f"{URL}{attachment_id + 1000}/{part}")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() == {"detail": "Attachment not found.", "code": "attachment_not_found"}


@pytest.mark.parametrize("token", [None, "forged.jwt.token"])
def test_no_or_a_forged_token_is_401(auth_client: APIClient, api_client: APIClient, token: str | None) -> None:
    attachment_id = upload(auth_client, images.png())["id"]
    if token:
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    for method, url in [("post", URL), ("get", f"{URL}{attachment_id}/"), ("get", f"{URL}{attachment_id}/content/")]:
        response = getattr(api_client, method)(url)
        assert response.status_code == 401, url
        assert response.json()["detail"]


def test_the_uploader_deletes_an_image_and_its_files_a_stranger_cannot(
    auth_client: APIClient, stranger_client: APIClient, media_root: Path, django_capture_on_commit_callbacks
) -> None:
    attachment_id = upload(auth_client, images.png())["id"]
    refused = stranger_client.delete(f"{URL}{attachment_id}/")
    assert (refused.status_code, refused.json()["code"]) == (404, "attachment_not_found")
    with django_capture_on_commit_callbacks(execute=True):
        assert auth_client.delete(f"{URL}{attachment_id}/").status_code == 204
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []
    assert auth_client.get(f"{URL}{attachment_id}/").status_code == 404
