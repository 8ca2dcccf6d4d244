"""OCR: an image's text, read by Tesseract (Debian's `tesseract-ocr`, `eng` data, installed by `make system-deps`)
through pytesseract. Nothing is downloaded at run time. No Django: it runs in the sandboxed parser process for
documents, and in a worker thread for chat attachments.

Tesseract is itself a child process, ended by pytesseract when `timeout` passes. The page is turned upright first
(Tesseract's orientation detection: 90/180/270 degrees), and grey, contrast-stretched and enlarged if small, which
is what lets faint or small text be read.
"""

from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageOps

from rag.ingestion.parsers import ParseError, TextBlock, text_blocks

if TYPE_CHECKING:
    from pypdf import PageObject

MIN_SIDE = 1000  # smaller images are enlarged: Tesseract reads text about 20-30 px high best
MAX_SIDE = 5000  # larger ones are reduced: time grows with pixels, and text that large loses nothing


class OcrFailed(Exception):
    """Tesseract is missing, failed or timed out."""


def image_text(image: Image.Image, *, timeout: float) -> str:
    """The text in `image` (paragraphs separated by blank lines), or "" if none was found."""
    import pytesseract

    page = prepared(image)
    try:
        rotation = _rotation(page, timeout=timeout)
        if rotation:
            page = page.rotate(-rotation, expand=True, fillcolor=255)
        text = pytesseract.image_to_string(page, lang="eng", config="--psm 3", timeout=timeout)
    except (pytesseract.TesseractError, pytesseract.TesseractNotFoundError, RuntimeError, OSError) as exc:
        # pytesseract reports a timeout as RuntimeError("Tesseract process timeout")
        raise OcrFailed(f"OCR failed: {exc}") from exc
    return _tidy(text)


def prepared(image: Image.Image) -> Image.Image:
    """Grey, with its contrast stretched to the full range, and scaled into [MIN_SIDE, MAX_SIDE]."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        background = Image.new("RGBA", image.size, "white")
        background.alpha_composite(image.convert("RGBA"))
        image = background
    grey = ImageOps.autocontrast(image.convert("L"), cutoff=1)
    longest = max(grey.size)
    if longest < MIN_SIDE:
        factor = min(MIN_SIDE / longest, 4.0)
        grey = grey.resize((round(grey.width * factor), round(grey.height * factor)), Image.Resampling.LANCZOS)
    elif longest > MAX_SIDE:
        grey.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return grey


def _rotation(page: Image.Image, *, timeout: float) -> int:
    """Degrees (0, 90, 180, 270) the page must turn clockwise to be upright; 0 when Tesseract cannot tell."""
    import pytesseract

    try:
        osd = pytesseract.image_to_osd(page, output_type=pytesseract.Output.DICT, timeout=timeout)
    except pytesseract.TesseractError:
        return 0  # too little text to tell: read it as it is
    if float(osd.get("orientation_conf", 0)) < 1.0:  # a guess: better read as it is than turned wrongly
        return 0
    return int(osd.get("rotate", 0)) % 360


def _tidy(text: str) -> str:
    paragraphs = [" ".join(block.split()) for block in text.replace("\x0c", "\n").split("\n\n")]
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


# --- Documents (in the sandboxed parser process) -------------------------------------------------

DOCUMENT_OCR_TIMEOUT_SECONDS = 30  # one image; the parent's RAG_EXTRACT_TIMEOUT_SECONDS bounds the whole file
MAX_PIXELS = 40_000_000  # width x height, read from the header before any decoding (a decompression bomb)
MAX_IMAGES_PER_PAGE = 8


def image_file_blocks(path: Path) -> list[TextBlock]:
    """An image file's text as blocks (no pages). Only the header is read before the pixel count is checked."""
    try:
        with Image.open(path, formats=["PNG", "JPEG", "GIF", "WEBP"]) as image:
            _check_pixels(image.width, image.height)
            image.seek(0)
            image.load()
            text = image_text(image, timeout=DOCUMENT_OCR_TIMEOUT_SECONDS)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise ParseError("corrupt", "This image could not be read (truncated or corrupt).") from exc
    except OcrFailed as exc:
        raise ParseError("ocr_failed", "The text of this image could not be read.") from exc
    return text_blocks(text)


def scanned_page_text(page: "PageObject", number: int) -> str:
    """The text of a PDF page without a text layer, read by OCR from the images drawn on it ("" if it has none)."""
    for width, height in _page_image_sizes(page):
        _check_pixels(width, height, where=f"page {number}")
    texts = []
    try:
        for index, embedded in enumerate(page.images):
            if index >= MAX_IMAGES_PER_PAGE:
                break
            if embedded.image is not None:
                texts.append(image_text(embedded.image, timeout=DOCUMENT_OCR_TIMEOUT_SECONDS))
    except OcrFailed as exc:
        raise ParseError("ocr_failed", f"The scanned text of page {number} could not be read.") from exc
    except (OSError, ValueError, KeyError, TypeError, NotImplementedError) as exc:
        raise ParseError("corrupt", f"An image on page {number} could not be read ({exc}).") from exc
    return "\n\n".join(text for text in texts if text)


def _page_image_sizes(page: "PageObject") -> list[tuple[int, int]]:
    """Width and height of every image a page draws directly, from the PDF's dictionaries (nothing decoded)."""
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    if xobjects is None:
        return []
    sizes = []
    for reference in xobjects.get_object().values():
        xobject = reference.get_object()
        if xobject.get("/Subtype") == "/Image":
            sizes.append((int(xobject.get("/Width", 0)), int(xobject.get("/Height", 0))))
    return sizes


def _check_pixels(width: int, height: int, *, where: str = "this image") -> None:
    if width * height > MAX_PIXELS:
        raise ParseError(
            "image_too_large", f"The image of {where} is {width}x{height} pixels; the limit is {MAX_PIXELS:,}."
        )
