"""Format parsers: bytes on disk -> text blocks. Pure functions with no Django, so they can run in the
sandboxed child process (extract_child.py) where a crash or a hang costs nothing but that process."""

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TextBlock:
    """A paragraph or a heading, with the 1-based page it sits on (None where the format has no pages)."""

    text: str
    page: int | None = None
    heading: bool = False


class ParseError(Exception):
    """A file the parser refuses with a reason a person can act on (`code` is stable)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def text_blocks(text: str, *, page: int | None = None, markdown: bool = False) -> list[TextBlock]:
    """Paragraphs split on blank lines; with `markdown`, `#` lines become headings."""
    blocks: list[TextBlock] = []
    for paragraph in _PARAGRAPH_BREAK.split(text.replace("\r\n", "\n").replace("\r", "\n")):
        lines: list[str] = []
        for line in paragraph.split("\n"):
            heading = markdown_heading(line) if markdown else None
            if heading is not None:
                if lines:
                    blocks.append(TextBlock(" ".join(lines), page))
                    lines = []
                if heading:
                    blocks.append(TextBlock(heading, page, heading=True))
            elif line.strip():
                lines.append(" ".join(line.split()))
        if lines:
            blocks.append(TextBlock(" ".join(lines), page))
    return blocks


def markdown_heading(line: str) -> str | None:
    """The text of an ATX heading line (`## Title ##`, up to three spaces in), or None if the line is not one.
    String operations, linear in the line: the regex this replaces backtracked polynomially on a heading full of
    spaces (issue 14: one 2.2 KB line froze the server for 19 s)."""
    body = line.lstrip()
    if len(line) - len(body) > 3:
        return None
    level = len(body) - len(body.lstrip("#"))
    if not 1 <= level <= 6 or not body[level : level + 1].isspace():
        return None
    return body[level:].strip().rstrip("#").rstrip()


def parse_text(path: Path, *, markdown: bool) -> list[TextBlock]:
    return text_blocks(decode_text(path.read_bytes()), markdown=markdown)


_DROPPED_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "head")
_BLOCK_TAGS = ("p", "div", "li", "tr", "br", "section", "article", "pre", "blockquote", "table", "ul", "ol", "dd", "dt")


def parse_html(path: Path) -> list[TextBlock]:
    """Text only: scripts, styles and other non-content elements are dropped; h1-h6 become headings."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(path.read_bytes()), "html.parser")
    for tag in soup.find_all(_DROPPED_TAGS):
        tag.decompose()
    for tag in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6"]):
        tag.insert_before("\n\n# ")
        tag.insert_after("\n\n")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_after("\n\n")
    return text_blocks(soup.get_text(), markdown=True)


def parse_pdf(path: Path, *, max_pages: int, probe: bool = False) -> tuple[list[TextBlock], int]:
    """Blocks with their page numbers. `probe` stops at the first page with text (the upload-time check)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise ParseError("encrypted", "This PDF is encrypted. Upload a copy without a password.")
        page_count = len(reader.pages)
    except PdfReadError as exc:
        raise ParseError("corrupt", f"This PDF could not be read ({exc}).") from exc
    if page_count > max_pages:
        raise ParseError("too_many_pages", f"This PDF has {page_count} pages; the limit is {max_pages}.")
    blocks: list[TextBlock] = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text() or ""
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            raise ParseError("corrupt", f"Page {number} of this PDF could not be read ({exc}).") from exc
        if not text.strip():  # no text layer: a scanned page, read by OCR
            from rag.ingestion.ocr import scanned_page_text

            text = scanned_page_text(page, number)
        blocks.extend(text_blocks(text, page=number))
        if probe and blocks:
            break
    return blocks, page_count


def parse_docx(path: Path) -> list[TextBlock]:
    """Paragraphs in order, headings from the Heading/Title styles, then table cells."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise ParseError("corrupt", f"This Word document could not be read ({exc}).") from exc
    blocks: list[TextBlock] = []
    for paragraph in document.paragraphs:
        text = " ".join(paragraph.text.split())
        if text:
            style = (paragraph.style.name if paragraph.style is not None else "") or ""
            blocks.append(TextBlock(text, heading=style.startswith(("Heading", "Title"))))
    for table in document.tables:
        for row in table.rows:
            cells = [" ".join(cell.text.split()) for cell in row.cells]
            row_text = " | ".join(cell for cell in cells if cell)
            if row_text:
                blocks.append(TextBlock(row_text))
    return blocks
