"""Stage 1: what kind of file this is (from its bytes, not only its name), whether it is safe to open, and its
text. Every parser, plain text included, runs in a process of its own (forked by the parser zygote) with hard time
and memory limits: only the bounded, linear-time sniffing of a file's first bytes happens in the calling process."""

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rag.conf import float_setting, int_setting
from rag.errors import DocumentUnreadable, UnsupportedDocumentType
from rag.ingestion.parser_zygote import ParseTimeout, ZygoteUnavailable, zygote
from rag.ingestion.parsers import TextBlock
from rag.models import Document

Kind = Document.Kind

EXTENSIONS = {
    ".txt": Kind.TXT,
    ".text": Kind.TXT,
    ".md": Kind.MD,
    ".markdown": Kind.MD,
    ".html": Kind.HTML,
    ".htm": Kind.HTML,
    ".pdf": Kind.PDF,
    ".docx": Kind.DOCX,
    ".png": Kind.IMAGE,
    ".jpg": Kind.IMAGE,
    ".jpeg": Kind.IMAGE,
    ".webp": Kind.IMAGE,
    ".gif": Kind.IMAGE,
}
_NOT_SPACE = re.compile(rb"\S")
_HTML_ROOT = re.compile(rb"<(?:!doctype\s+html|html|head|body)[\s>]", re.IGNORECASE)
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")  # read by OCR (ingestion/ocr.py)
_BINARY_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"\xca\xfe\xba\xbe",
    b"\xcf\xfa\xed\xfe",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"Rar!",
    b"7z\xbc\xaf",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ",
)
SUPPORTED = "Supported formats: .txt, .md, .html, .pdf, .docx, and images of text (.png, .jpg, .webp, .gif)."


class ExtractionFailed(DocumentUnreadable):
    """The parser crashed, hung past its time limit, or refused the file."""


@dataclass(frozen=True)
class Extracted:
    blocks: list[TextBlock]
    page_count: int | None


def content_kind(head: bytes) -> str:
    """What the first bytes say: image, pdf, zip, html, text or binary. A format's magic at offset 0 wins over a `%PDF-`
    further on (PDF readers look for it anywhere in the first 1024 bytes): an executable (or archive) with a PDF
    after its header is a polyglot, and stays what its header says."""
    if head.startswith(IMAGE_MAGIC) or (head.startswith(b"RIFF") and head[8:12] == b"WEBP"):
        return "image"
    if head.startswith(_BINARY_MAGIC):
        return "binary"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "text"  # UTF-16 with a byte-order mark: NUL bytes are expected
    if b"\x00" in head[:4096]:
        return "binary"
    if _starts_like_html(head):
        return "html"
    return "text"


def _starts_like_html(head: bytes) -> bool:
    """Whitespace and comments, then an HTML root tag. A scan that only moves forward: one regex with a repeated
    comment group backtracked exponentially on a run of `<!---->` (issue 14: 216 bytes froze the server)."""
    position = _skip_space(head, 0)
    while head.startswith(b"<!--", position):
        end = head.find(b"-->", position + 4)
        if end < 0:
            return False
        position = _skip_space(head, end + 3)
    return _HTML_ROOT.match(head, position) is not None


def _skip_space(data: bytes, position: int) -> int:
    found = _NOT_SPACE.search(data, position)
    return found.start() if found else len(data)


def detect_kind(*, head: bytes, name: str) -> str:
    """The document kind, if the name's extension (when there is one) agrees with the content."""
    suffix = Path(name).suffix.lower()
    declared = EXTENSIONS.get(suffix)
    if suffix and declared is None:
        raise UnsupportedDocumentType(f"Files of type {suffix[:20]!r} are not supported. {SUPPORTED}")
    actual = content_kind(head)
    compatible = {
        Kind.PDF: {"pdf"},
        Kind.DOCX: {"zip"},
        Kind.HTML: {"html", "text"},
        Kind.TXT: {"text", "html"},
        Kind.MD: {"text", "html"},
        Kind.IMAGE: {"image"},
    }
    if declared is not None:
        if actual not in compatible[declared]:
            raise UnsupportedDocumentType(f"The file is named {suffix} but its content is not. {SUPPORTED}")
        return declared
    by_content = {"pdf": Kind.PDF, "zip": Kind.DOCX, "html": Kind.HTML, "text": Kind.TXT, "image": Kind.IMAGE}
    if actual not in by_content:
        raise UnsupportedDocumentType(f"The content of this file is not a supported document. {SUPPORTED}")
    return by_content[actual]


def check_docx_container(path: Path) -> None:
    """Refuse zip bombs and archives that are not Word documents before any parser opens them."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if len(entries) > int_setting("RAG_ZIP_MAX_ENTRIES"):
                raise DocumentUnreadable(f"This .docx holds {len(entries)} files; a Word document has far fewer.")
            names = {entry.filename for entry in entries}
            total = sum(entry.file_size for entry in entries)
            ratio = max((e.file_size / max(e.compress_size, 1) for e in entries), default=0)
    except zipfile.BadZipFile as exc:
        raise DocumentUnreadable("This .docx is not a valid Word document (corrupt archive).") from exc
    if total > int_setting("RAG_ZIP_MAX_UNCOMPRESSED_BYTES") or ratio > int_setting("RAG_ZIP_MAX_RATIO"):
        raise DocumentUnreadable("This .docx expands to far more data than a document holds (a zip bomb?).")
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        raise UnsupportedDocumentType(f"This archive is not a Word document. {SUPPORTED}")


def extract(path: Path, kind: str, *, probe: bool = False) -> Extracted:
    """The document's text blocks. `probe` is the quick upload-time check: stop at the first text found."""
    timeout = float_setting("RAG_PROBE_TIMEOUT_SECONDS" if probe else "RAG_EXTRACT_TIMEOUT_SECONDS")
    return _extract_in_child(path, kind, timeout=timeout, probe=probe)


def _extract_in_child(path: Path, kind: str, *, timeout: float, probe: bool) -> Extracted:
    request = {
        "kind": kind,
        "path": str(path),
        "max_pages": int_setting("RAG_MAX_PAGES"),
        "memory_mb": int_setting("RAG_EXTRACT_MEMORY_MB"),
        "probe": probe,
        "cpu_seconds": int(timeout) + 1,
    }
    try:
        output = zygote.run(request, timeout=timeout)
    except ParseTimeout:
        raise ExtractionFailed(f"Reading this file took longer than {timeout:g} s; it was stopped.") from None
    except ZygoteUnavailable:
        raise ExtractionFailed("The document parser could not be started; try again later.") from None
    try:
        payload = json.loads(output)
    except ValueError:
        raise ExtractionFailed(f"The {kind} parser crashed on this file (it ended without an answer).") from None
    if not payload["ok"]:
        raise ExtractionFailed(payload["detail"], extra={"reason": payload["code"]})
    blocks = [TextBlock(text, page, heading) for text, page, heading in payload["blocks"]]
    return Extracted(blocks=_bounded(blocks), page_count=payload["pages"])


def _bounded(blocks: list[TextBlock]) -> list[TextBlock]:
    budget = int_setting("RAG_MAX_TEXT_CHARS")
    kept: list[TextBlock] = []
    for block in blocks:
        if budget <= 0:
            break
        kept.append(block if len(block.text) <= budget else TextBlock(block.text[:budget], block.page, block.heading))
        budget -= len(block.text)
    return kept
