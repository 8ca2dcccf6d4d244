"""Images made for the tests, real files from Pillow (and a few crafted by hand where Pillow refuses to write
something hostile)."""

import io
import struct
import zlib

from PIL import Image, ImageDraw, ImageFont

WORDS = [
    "The quarterly invoice number is 48213",
    "Shipping address Maple Street Dublin",
    "Total amount due before March twelfth",
]


def encoded(image: Image.Image, image_format: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return out.getvalue()


def picture(size: tuple[int, int] = (64, 48), color: str = "teal", mode: str = "RGB") -> Image.Image:
    image = Image.new(mode, size, color)
    ImageDraw.Draw(image).rectangle((4, 4, size[0] // 2, size[1] // 2), fill="orange")
    return image


def png(size: tuple[int, int] = (64, 48)) -> bytes:
    return encoded(picture(size), "PNG")


def text_image(lines: list[str] = WORDS, *, fg: int = 0, bg: int = 255, size: int = 28) -> Image.Image:
    """Lines of text drawn with Pillow's own font (no system font needed)."""
    font = ImageFont.load_default(size=size)
    image = Image.new("L", (900, 60 + 50 * len(lines)), bg)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((30, 30 + 50 * number), line, fill=fg, font=font)
    return image


def jpeg_with_exif() -> bytes:
    """A JPEG whose EXIF names a camera and a place (GPS), the metadata a photo gives away."""
    exif = Image.Exif()
    exif[0x010F] = "SecretCamCorp"  # Make
    exif[0x0110] = "SpyPhone 9"  # Model
    exif[0x8825] = {1: "N", 2: (53.0, 20.0, 31.0), 3: "W", 4: (6.0, 15.0, 2.0)}  # GPSInfo
    return encoded(picture((80, 60)), "JPEG", exif=exif, comment=b"secret comment")


def png_with_text_chunk() -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", "SecretAuthorName")
    return encoded(picture(), "PNG", pnginfo=info)


def gif_animation() -> bytes:
    frames = [picture(color="red"), picture(color="blue")]
    return encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def png_bomb() -> bytes:
    """8000 x 8000 pixels (64 MP, over the 40 MP cap) in a few kilobytes: a decompression bomb."""
    return encoded(Image.new("1", (8000, 8000)), "PNG")


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims any size, with a tiny body: only the header may be read before refusing."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def gif_claiming(width: int, height: int) -> bytes:
    """A GIF whose logical screen is huge, with a one-pixel frame."""
    small = encoded(Image.new("P", (1, 1)), "GIF")
    return small[:6] + struct.pack("<HH", width, height) + small[10:]


def zip_archive() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return out.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
