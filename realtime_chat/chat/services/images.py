"""A question's images as the answering model can take them: the images themselves (Ollama's `images`) for a
model whose `/api/show` lists the `vision` capability; otherwise their text, found by OCR and put in the question
between delimiters. The answer records which (`Message.image_input`), so the UI can say it."""

import asyncio
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Literal

from channels.db import database_sync_to_async
from PIL import Image

from realtime_chat.attachments.models import Attachment
from realtime_chat.attachments.services import attachment_ocr, attachment_ocr_keep
from realtime_chat.llm.factory import model_capabilities
from realtime_chat.llm.types import ChatMessage

logger = logging.getLogger(__name__)
NO_TEXT = "(no text was found in this image)"
VISION_MAX_SIDE = 2048  # pixels: larger images are reduced before they go to a vision model


@dataclass(frozen=True)
class ImageInput:
    mode: Literal["", "vision", "ocr"] = ""
    images: tuple[bytes, ...] = ()  # vision: the stored (re-encoded, metadata-free) image files
    text: str = ""  # ocr: the delimited text of every image

    def question(self, question: str) -> str:
        """The question as the model reads it: with the images' text after it, for a text-only model."""
        return f"{question}\n\n{self.text}".strip() if self.text else question

    def attach(self, prompt: list[ChatMessage]) -> list[ChatMessage]:
        """For a vision model: the images go with the question, the prompt's last user message."""
        if not self.images:
            return prompt
        last = max(i for i, message in enumerate(prompt) if message.role == "user")
        return [*prompt[:last], replace(prompt[last], images=self.images), *prompt[last + 1 :]]


NO_IMAGES = ImageInput()


async def image_input_prepare(*, attachments: Sequence[Attachment], model: str | None) -> ImageInput:
    """How the question's images reach `model`. Reading files and OCR run in worker threads (OCR is a Tesseract
    process with a time limit), never on the event loop."""
    if not attachments:
        return NO_IMAGES
    if "vision" in await model_capabilities(model=model):
        images = await asyncio.to_thread(_read_files, attachments)
        return ImageInput(mode="vision", images=images)
    texts = []
    for attachment in attachments:
        text = attachment.ocr_text
        if text is None:
            text = await asyncio.to_thread(partial(attachment_ocr, attachment=attachment))
            if text is None:
                logger.warning("OCR failed on attachment %s", attachment.pk)
            else:
                await database_sync_to_async(attachment_ocr_keep)(attachment=attachment, text=text)
        texts.append(text or "")
    return ImageInput(mode="ocr", text=delimited(texts))


def delimited(texts: Sequence[str]) -> str:
    """Each image's text between markers that say what it is; a marker inside the text is defused first."""
    blocks = []
    for number, text in enumerate(texts, start=1):
        body = (text or NO_TEXT).replace("<<<", "< < <").replace(">>>", "> > >")
        start, end = (
            f"<<< text found in the attached image {number} >>>",
            f"<<< end of the text found in image {number} >>>",
        )
        blocks.append(f"{start}\n{body}\n{end}")
    return "\n\n".join(blocks)


def _read_files(attachments: Sequence[Attachment]) -> tuple[bytes, ...]:
    """The stored images, each reduced to VISION_MAX_SIDE first if larger: vision models scale images down to a
    few hundred pixels themselves, and a 40 MP image would cost tens of megabytes of base64 per request."""
    images = []
    for attachment in attachments:
        with attachment.file.open("rb") as stored:
            data = stored.read()
        if max(attachment.width, attachment.height) > VISION_MAX_SIDE:
            data = _reduced(data)
        images.append(data)
    return tuple(images)


def _reduced(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((VISION_MAX_SIDE, VISION_MAX_SIDE))
        out = io.BytesIO()
        if image.mode in ("RGBA", "LA"):
            image.save(out, "PNG")
        else:
            image.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()
