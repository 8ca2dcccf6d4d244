"""The sandboxed parser process: `python -m rag.ingestion.extract_child KIND PATH MAX_PAGES MEMORY_MB [probe]`.

It limits its own memory and CPU first, parses, and prints one JSON object. A crash, a hang (killed by the
parent's timeout) or a memory bomb ends only this process. Imports no Django.
"""

import json
import resource
import sys
from pathlib import Path

from rag.ingestion.ocr import image_file_blocks
from rag.ingestion.parsers import ParseError, TextBlock, parse_docx, parse_html, parse_pdf, parse_text

PROBE_CHARS = 200


def _limit(memory_mb: int, cpu_seconds: int) -> None:
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def parse(kind: str, path: Path, *, max_pages: int, probe: bool) -> tuple[list[TextBlock], int | None]:
    if kind == "pdf":
        return parse_pdf(path, max_pages=max_pages, probe=probe)
    if kind == "docx":
        return parse_docx(path), None
    if kind == "html":
        return parse_html(path), None
    if kind == "image":
        return image_file_blocks(path), None
    return parse_text(path, markdown=kind == "md"), None


def main(argv: list[str]) -> int:
    kind, path, max_pages, memory_mb = argv[0], Path(argv[1]), int(argv[2]), int(argv[3])
    probe = len(argv) > 4 and argv[4] == "probe"
    _limit(memory_mb, cpu_seconds=int(argv[5]) if len(argv) > 5 else 600)
    try:
        blocks, pages = parse(kind, path, max_pages=max_pages, probe=probe)
    except ParseError as exc:
        json.dump({"ok": False, "code": exc.code, "detail": exc.detail}, sys.stdout)
        return 0
    if probe:  # the upload-time check only asks whether there is any text: send back a little of it at most
        first = next((block for block in blocks if block.text.strip()), None)
        blocks = [] if first is None else [TextBlock(first.text[:PROBE_CHARS], first.page, first.heading)]
    payload = {"ok": True, "pages": pages, "blocks": [[b.text, b.page, b.heading] for b in blocks]}
    json.dump(payload, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
