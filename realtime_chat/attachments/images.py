"""Untrusted image bytes -> a clean image: format sniffed from the bytes, structure and trailing data checked,
the pixel count read from the header and capped before anything is decoded, then decoded once and re-encoded
from bare pixels, so no metadata (EXIF, text chunks, ICC profiles, comments) and no appended payload survive.

Pure functions with no Django; every failure is an `ImageRefused` with a stable `code`.
"""

import io
import struct
import threading
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError, features

THUMBNAIL_SIDE = 320
# Decoding a capped image still takes up to 4 bytes a pixel: at most this many decodes at once per process.
_DECODES = threading.BoundedSemaphore(2)


class ImageRefused(Exception):
    def __init__(self, code: str, detail: str, *, status: int = 400) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status


@dataclass(frozen=True)
class CleanImage:
    kind: str  # the sniffed format: png, jpeg, webp or gif
    content_type: str  # of `data`
    extension: str
    width: int
    height: int
    data: bytes
    thumbnail: bytes  # JPEG


SUPPORTED = "Send a PNG, JPEG, WebP or GIF image."


def sniff(data: bytes) -> str:
    """The format the first bytes announce, whatever the file is called."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "webp"
    raise ImageRefused("unsupported_image", f"This file is not an image this server accepts. {SUPPORTED}", status=415)


def check_container(kind: str, data: bytes) -> None:
    """The file ends where the image ends: data appended after it (an archive, a script) makes a polyglot, refused
    rather than silently cut off. Linear in the size, no decoding."""
    if kind == "png":
        _check_png_chunks(data)
    elif kind == "jpeg":
        if not data.endswith(b"\xff\xd9"):
            raise ImageRefused("invalid_image", "This JPEG is truncated or has data after its end.")
    elif kind == "gif":
        if not data.endswith(b";"):
            raise ImageRefused("invalid_image", "This GIF is truncated or has data after its end.")
    elif kind == "webp":
        (declared,) = struct.unpack("<I", data[4:8])
        if declared + 8 != len(data):
            raise ImageRefused(
                "invalid_image", "This WebP's size does not match its file: truncated, or data after it."
            )


def _check_png_chunks(data: bytes) -> None:
    position = 8
    while position + 12 <= len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        chunk_type = data[position + 4 : position + 8]
        position += 12 + length
        if chunk_type == b"IEND":
            if position != len(data):
                raise ImageRefused("invalid_image", "This PNG has data after its end (a polyglot file?).")
            return
    raise ImageRefused("invalid_image", "This PNG is truncated: it has no end.")


def clean(data: bytes, *, max_pixels: int) -> CleanImage:
    """The checked, re-encoded image and its thumbnail. Raises ImageRefused for anything else."""
    kind = sniff(data)
    check_container(kind, data)
    with _DECODES:
        return _decode_and_encode(kind, data, max_pixels=max_pixels)


def _decode_and_encode(kind: str, data: bytes, *, max_pixels: int) -> CleanImage:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind.upper()]) as opened:
                width, height = opened.size  # from the header: nothing decoded yet
                if width < 1 or height < 1 or width * height > max_pixels:
                    raise ImageRefused(
                        "image_too_large",
                        f"This image is {width}x{height} pixels; the limit is {max_pixels:,} pixels.",
                        status=413,
                    )
                opened.seek(0)  # a GIF's (or animated WebP's) first frame only
                opened.load()
                upright = ImageOps.exif_transpose(opened)
                pixels = _bare(upright)
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        detail = f"This image has more than the limit of {max_pixels:,} pixels (a decompression bomb?)."
        raise ImageRefused("image_too_large", detail, status=413) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise ImageRefused(
            "invalid_image", f"This {kind.upper()} image could not be read (truncated or corrupt)."
        ) from exc
    stored_format = {"png": "PNG", "gif": "PNG", "jpeg": "JPEG", "webp": "WEBP" if features.check("webp") else "PNG"}[
        kind
    ]
    return CleanImage(
        kind=kind,
        content_type=f"image/{stored_format.lower()}",
        extension=stored_format.lower().replace("jpeg", "jpg"),
        width=pixels.width,
        height=pixels.height,
        data=_encode(pixels, stored_format),
        thumbnail=_thumbnail(pixels),
    )


def _bare(image: Image.Image) -> Image.Image:
    """The pixels alone, in a mode every output format takes: a new image carries none of the source's `info`."""
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "transparency" in image.info or image.mode in ("P", "PA") else "RGB")
    bare = Image.new(image.mode, image.size)
    bare.paste(image)
    return bare


def _encode(image: Image.Image, image_format: str) -> bytes:
    out = io.BytesIO()
    if image_format == "JPEG":
        image = image.convert("RGB") if image.mode not in ("RGB", "L") else image
        image.save(out, "JPEG", quality=90)
    elif image_format == "WEBP":
        image.save(out, "WEBP", quality=90)
    else:
        image.save(out, "PNG", optimize=False)
    return out.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    small = image.copy()
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    if small.mode in ("RGBA", "LA"):
        background = Image.new("RGB", small.size, "white")
        background.paste(small, mask=small.getchannel("A"))
        small = background
    return _encode(small, "JPEG")
