"""OCR quality on rendered text (Tesseract from Debian's packages, through pytesseract): words recovered."""

import io
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from rag.errors import UnsupportedDocumentType
from rag.ingestion.extract import ExtractionFailed, detect_kind, extract
from rag.ingestion.ocr import image_text
from rag.models import Chunk, Document
from tests.realtime_chat.attachments.images import WORDS, encoded, png_bomb, text_image

REQUIRED_RECALL = 0.95


def recall(text: str, lines: list[str]) -> float:
    """The share of the expected words (in order of the lines, repeats counted once) found in `text`."""
    expected = " ".join(lines).lower().split()
    found = set(re.findall(r"[a-z0-9]+", text.lower()))
    return sum(word in found for word in expected) / len(expected)


CASES = {
    "plain": lambda: text_image(),
    "rotated a quarter turn": lambda: text_image().rotate(90, expand=True, fillcolor=255),
    "low contrast (grey on grey)": lambda: text_image(fg=150, bg=175),
    "colour, small text": lambda: text_image(size=18).convert("RGB"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_ocr_recovers_at_least_95_percent_of_the_words(case: str, record_property) -> None:
    image: Image.Image = CASES[case]()
    text = image_text(image, timeout=60)
    measured = recall(text, WORDS)
    record_property("ocr_word_recall", round(measured, 3))  # in the JUnit report (`--junitxml`)
    assert measured >= REQUIRED_RECALL, (case, text)


def test_an_image_without_text_gives_no_text() -> None:
    assert image_text(Image.new("RGB", (400, 300), "white"), timeout=60) == ""


# --- documents: image files and scanned PDFs, OCR'd in the sandboxed parser process --------------


def scanned_pdf(pages: list[list[str]]) -> bytes:
    """A PDF of page images only (no text layer), as a scanner makes them."""
    images = [text_image(lines).convert("RGB") for lines in pages]
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=150)
    return out.getvalue()


def test_image_files_are_documents_by_their_bytes() -> None:
    png = encoded(text_image(), "PNG")
    assert detect_kind(head=png[:64], name="scan.png") == "image"
    assert detect_kind(head=png[:64], name="no-extension") == "image"
    with pytest.raises(UnsupportedDocumentType):
        detect_kind(head=png[:64], name="notes.txt")


def test_an_image_document_is_read_by_ocr_in_the_child(tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    path.write_bytes(encoded(text_image(), "PNG"))
    text = " ".join(block.text for block in extract(path, "image").blocks)
    assert recall(text, WORDS) >= REQUIRED_RECALL


def test_a_scanned_pdf_is_read_page_by_page_with_its_page_numbers(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(scanned_pdf([["First page about insulin dosing"], ["Second page about glucose meters"]]))
    extracted = extract(path, "pdf")
    assert extracted.page_count == 2
    assert [(block.page, block.text) for block in extracted.blocks] == [
        (1, "First page about insulin dosing"),
        (2, "Second page about glucose meters"),
    ]


def test_an_image_bomb_document_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bomb())
    with pytest.raises(ExtractionFailed) as refused:
        extract(path, "image")
    assert refused.value.extra == {"reason": "image_too_large"}


@pytest.mark.embeddings
@pytest.mark.django_db
def test_an_uploaded_scan_becomes_searchable_and_citable_with_its_page(
    auth_client: APIClient, django_capture_on_commit_callbacks
) -> None:
    data = scanned_pdf([["Cover page of the manual"], ["The pressure valve must be replaced every ninety days"]])
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(
            reverse("document-list"), {"file": SimpleUploadedFile("manual.pdf", data)}, format="multipart"
        )
    assert response.status_code == 202, response.json()
    document = Document.objects.get()
    assert document.status == "ready", document.error
    chunks = list(Chunk.objects.filter(document=document).values_list("page", "text"))
    assert any(page == 2 and "pressure valve" in text for page, text in chunks), chunks
    search = {"query": "how often is the pressure valve replaced", "top_k": 1}
    hits = auth_client.post(reverse("rag-search"), search, format="json").json()["results"]
    assert (hits[0]["document_id"], hits[0]["page"]) == (document.pk, 2), hits
