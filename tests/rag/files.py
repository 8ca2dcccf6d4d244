"""Real document bytes made in the tests: PDFs, Word files, zip bombs."""

import io
import zipfile

import docx
from pypdf import PdfReader, PdfWriter


def pdf_bytes(pages: list[str], *, repeat: int = 1) -> bytes:
    """A minimal valid PDF with one line of Helvetica text per page (no page text: an empty string), shown `repeat`
    times (one text operator each: many make a file that takes its parser seconds to read)."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for text in pages:
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj{f' 0 -1 Td ({escaped}) Tj' * (repeat - 1)} ET" if text else ""
        objects.append(f"<< /Length {len(stream.encode('latin-1'))} >>\nstream\n{stream}\nendstream")
        content_id = len(objects)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>"
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def slow_pdf_bytes(text: str = "Slow words.", *, operators: int = 50_000) -> bytes:
    """A valid PDF that takes its parser long to read: one page of `operators` text operators (50,000: about a
    second on a fast CPU; 5,000 about 0.1 s)."""
    return pdf_bytes([text], repeat=operators)


def encrypted_pdf_bytes(text: str) -> bytes:
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(pdf_bytes([text]))))
    writer.encrypt(user_password="secret", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def docx_bytes(*, heading: str, paragraphs: list[str]) -> bytes:
    document = docx.Document()
    document.add_heading(heading, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _docx_skeleton(archive: zipfile.ZipFile) -> None:
    archive.writestr("[Content_Types].xml", "<Types/>")
    archive.writestr("word/document.xml", "<w:document/>")


def zip_bomb_docx(*, expanded_bytes: int = 300 * 1024 * 1024) -> bytes:
    """A .docx-shaped archive with one entry of zeros that expands ~1000x."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        _docx_skeleton(archive)
        with archive.open("word/media/zeros.bin", "w", force_zip64=True) as entry:
            block = bytes(1024 * 1024)
            for _ in range(expanded_bytes // len(block)):
                entry.write(block)
    return buffer.getvalue()


def many_entries_docx(entries: int = 5000) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _docx_skeleton(archive)
        for number in range(entries):
            archive.writestr(f"word/parts/{number}.xml", "<x/>")
    return buffer.getvalue()


def plain_zip_as_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a word document")
    return buffer.getvalue()


STATION_WORDS = [
    "alpha",
    "bravo",
    "cobalt",
    "delta",
    "ember",
    "fjord",
    "garnet",
    "harbour",
    "indigo",
    "juniper",
    "kestrel",
    "lumen",
]


def station_log(sentences: int, marker: str = "") -> str:
    """Distinct sentences (no two chunks embed the same text), four to a paragraph: a long document of many chunks."""
    said = f" {marker}" if marker else ""
    lines = [
        f"Sentence {i}{said} records the {STATION_WORDS[i % len(STATION_WORDS)]} reading {i * 7919 % 10007} at "
        f"station {i % 97}."
        for i in range(sentences)
    ]
    return "\n\n".join(" ".join(lines[i : i + 4]) for i in range(0, len(lines), 4))
