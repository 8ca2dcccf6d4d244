"""Type detection from content, zip-bomb checks, and each parser running in its sandboxed child process."""

import time
from pathlib import Path

import pytest

from rag.errors import DocumentUnreadable, UnsupportedDocumentType
from rag.ingestion.extract import ExtractionFailed, check_docx_container, detect_kind, extract
from rag.ingestion.parsers import markdown_heading
from tests.rag.files import (
    docx_bytes,
    encrypted_pdf_bytes,
    many_entries_docx,
    pdf_bytes,
    slow_pdf_bytes,
    zip_bomb_docx,
)


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@pytest.mark.parametrize(
    ("name", "head", "kind"),
    [
        ("notes.txt", b"plain words", "txt"),
        ("notes.md", b"# Title\n\ntext", "md"),
        ("page.html", b"<!DOCTYPE html><html><body>x</body></html>", "html"),
        ("paper.pdf", b"%PDF-1.7\n...", "pdf"),
        ("report.docx", b"PK\x03\x04rest", "docx"),
        ("no-extension", b"%PDF-1.4", "pdf"),
        ("no-extension", b"just text", "txt"),
    ],
)
def test_kind_comes_from_name_and_content_together(name, head, kind):
    assert detect_kind(head=head, name=name) == kind


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("paper.pdf", b"<!DOCTYPE html><html><body>phish</body></html>"),
        ("paper.pdf", b"MZ\x90\x00\x03\x00\x00\x00"),
        ("report.docx", b"%PDF-1.4"),
        ("notes.txt", b"\x7fELF\x02\x01\x01"),
        ("notes.txt", b"text with a \x00 NUL byte"),
        ("program.exe", b"MZ\x90\x00"),
        ("notes.txt", b"\x89PNG\r\n\x1a\n"),  # an image is a document (OCR), but not one named .txt
    ],
)
def test_disguised_or_unsupported_content_is_refused(name, head):
    with pytest.raises(UnsupportedDocumentType):
        detect_kind(head=head, name=name)


# Issue 14: a text file of 26 empty HTML comments and a letter froze the server for 33 s (each comment doubled
# the old sniffing regex's work); a 2.2 KB Markdown heading full of spaces froze it for 19 s.
HTML_COMMENT_RUN = b"<!---->" * 26 + b"x"
HEADING_FULL_OF_SPACES = "# x" + " " * 2200 + "x\n"


def test_a_run_of_html_comments_is_sniffed_at_once():
    started = time.perf_counter()
    assert detect_kind(head=HTML_COMMENT_RUN, name="comments.txt") == "txt"
    assert detect_kind(head=HTML_COMMENT_RUN, name="no-extension") == "txt"
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"<!-- generated -->\n<!-- twice -->  <!DOCTYPE html><html>", "html"),
        (b"\n\t<!---->\n<HEAD>", "html"),
        (b"<!-- a comment that never ends <html>", "txt"),
        (b"<!-- x --> words <html>", "txt"),
        (b"<!-- x --><htmlish>", "txt"),
    ],
)
def test_html_is_recognised_after_leading_comments(head, kind):
    assert detect_kind(head=head, name="no-extension") == kind


def test_a_markdown_heading_full_of_spaces_is_parsed_at_once(tmp_path):
    path = write(tmp_path, "heading.md", HEADING_FULL_OF_SPACES)
    started = time.perf_counter()
    blocks = extract(path, "md").blocks
    assert time.perf_counter() - started < 1
    assert [(b.text.split(), b.heading) for b in blocks] == [(["x", "x"], True)]


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("# Title", "Title"),
        ("   ### Title ###  ", "Title"),
        ("## C# and F#", "C# and F"),
        ("#", None),
        ("# ", ""),
        ("####### seven", None),
        ("    # indented code", None),
        ("#hashtag", None),
    ],
)
def test_markdown_heading_lines(line, heading):
    assert markdown_heading(line) == heading


@pytest.mark.parametrize(("name", "kind"), [("notes.txt", "txt"), ("notes.md", "md")])
def test_text_is_parsed_in_the_sandboxed_child_like_every_format(tmp_path, settings, name, kind):
    settings.RAG_EXTRACT_MEMORY_MB = 1  # the parsing process cannot even read the file in: it dies, and only it
    with pytest.raises(ExtractionFailed, match="crashed"):
        extract(write(tmp_path, name, "# Title\n\n" + "words " * 200_000), kind)
    settings.RAG_EXTRACT_MEMORY_MB = 1024
    assert extract(write(tmp_path, name, "# Title\n\nwords"), kind).blocks[-1].text == "words"


def test_docx_zip_bomb_is_refused_before_parsing(tmp_path):
    with pytest.raises(DocumentUnreadable, match="zip bomb"):
        check_docx_container(write(tmp_path, "bomb.docx", zip_bomb_docx()))


def test_docx_with_thousands_of_entries_is_refused(tmp_path):
    with pytest.raises(DocumentUnreadable, match="5002 files"):
        check_docx_container(write(tmp_path, "many.docx", many_entries_docx(5000)))


def test_real_docx_passes_the_container_check(tmp_path):
    check_docx_container(write(tmp_path, "ok.docx", docx_bytes(heading="H", paragraphs=["p"])))


def test_pdf_text_keeps_page_numbers(tmp_path):
    path = write(tmp_path, "a.pdf", pdf_bytes(["First page words.", "", "Third page words."]))
    extracted = extract(path, "pdf")
    assert extracted.page_count == 3
    assert [(b.page, b.text) for b in extracted.blocks] == [(1, "First page words."), (3, "Third page words.")]


def test_encrypted_pdf_is_refused_with_a_reason(tmp_path):
    with pytest.raises(ExtractionFailed, match="encrypted"):
        extract(write(tmp_path, "locked.pdf", encrypted_pdf_bytes("secret text")), "pdf")


def test_corrupt_pdf_is_refused(tmp_path):
    with pytest.raises(ExtractionFailed):
        extract(write(tmp_path, "broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\ngarbage"), "pdf")


def test_pdf_over_the_page_limit_is_refused(tmp_path, settings):
    settings.RAG_MAX_PAGES = 2
    with pytest.raises(ExtractionFailed, match="3 pages; the limit is 2"):
        extract(write(tmp_path, "long.pdf", pdf_bytes(["a", "b", "c"])), "pdf")


def test_docx_headings_and_paragraphs(tmp_path):
    data = docx_bytes(heading="Dosage", paragraphs=["Take one tablet.", "Never two."])
    blocks = extract(write(tmp_path, "d.docx", data), "docx").blocks
    expected = [("Dosage", True), ("Take one tablet.", False), ("Never two.", False)]
    assert [(b.text, b.heading) for b in blocks] == expected


def test_html_keeps_text_and_drops_scripts_and_styles(tmp_path):
    html = (
        "<html><head><title>t</title><style>body{color:red}</style></head><body>"
        "<h2>Overview</h2><p>Visible <b>text</b>.</p><script>alert('x')</script><p>More.</p></body></html>"
    )
    blocks = extract(write(tmp_path, "p.html", html), "html").blocks
    assert [(b.text, b.heading) for b in blocks] == [("Overview", True), ("Visible text.", False), ("More.", False)]


def test_markdown_headings_become_heading_blocks(tmp_path):
    blocks = extract(write(tmp_path, "n.md", "# Title\nintro line\n\n## Part\nbody"), "md").blocks
    expected = [("Title", True), ("intro line", False), ("Part", True), ("body", False)]
    assert [(b.text, b.heading) for b in blocks] == expected


def test_a_parser_that_hangs_is_stopped_at_the_time_limit(tmp_path, settings):
    settings.RAG_EXTRACT_TIMEOUT_SECONDS = 0.05  # the parser needs about a second: it is killed
    with pytest.raises(ExtractionFailed, match=r"longer than 0\.05 s"):
        extract(write(tmp_path, "a.pdf", slow_pdf_bytes()), "pdf")


def test_a_parser_that_crashes_is_reported(tmp_path, settings):
    settings.RAG_EXTRACT_MEMORY_MB = 1  # a megabyte more than the parser starts with: reading the file needs two
    with pytest.raises(ExtractionFailed, match="crashed"):
        extract(write(tmp_path, "a.pdf", slow_pdf_bytes()), "pdf")
