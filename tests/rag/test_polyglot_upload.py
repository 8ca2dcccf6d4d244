"""An executable that is also a PDF (issue 14, item 11) is refused: a file whose first bytes are an executable's
(Windows MZ, ELF, Mach-O) stays one, whatever `%PDF-` follows within the 1024 bytes PDF readers accept before it.
Before, `%PDF-` anywhere in the head made it a PDF, so an MZ+PDF polyglot was stored and served back as one."""

import pytest

from rag.errors import UnsupportedDocumentType
from rag.ingestion.extract import content_kind, detect_kind
from rag.models import Document
from realtime_chat.accounts.models import User
from tests.rag.factories import document_upload
from tests.rag.files import pdf_bytes

pytestmark = pytest.mark.django_db

EXECUTABLE_HEADS = {
    "windows": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48,
    "elf": b"\x7fELF\x02\x01\x01" + b"\x00" * 57,
    "mach-o": b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 56,
}


def polyglot(executable_head: bytes) -> bytes:
    """The executable's header, then a real PDF well within the first 1024 bytes (readers find it there)."""
    return executable_head + pdf_bytes(["A PDF that is also a program."])


@pytest.mark.parametrize("name", ["report.pdf", "report"])
@pytest.mark.parametrize("executable", list(EXECUTABLE_HEADS))
def test_an_executable_that_is_also_a_pdf_is_refused(user: User, executable: str, name: str) -> None:
    content = polyglot(EXECUTABLE_HEADS[executable])
    assert b"%PDF-" in content[:1024]
    with pytest.raises(UnsupportedDocumentType):
        document_upload(user=user, name=name, content=content)
    assert not Document.objects.exists()


def test_a_pdf_with_a_little_text_before_its_header_is_still_a_pdf() -> None:
    """Readers accept junk before `%PDF-`; only an executable's (or another format's) magic at offset 0 is refused."""
    assert content_kind(b"\n\n" + pdf_bytes(["text"])) == "pdf"
    assert detect_kind(head=b"%PDF-1.7\n" + b"x" * 100, name="a.pdf") == "pdf"
    assert content_kind(EXECUTABLE_HEADS["windows"] + b"%PDF-1.7") == "binary"
    assert content_kind(b"PK\x03\x04" + b"\x00" * 26 + b"%PDF-1.7") == "zip"
