"""The sandboxed parser: one process per file, which limits its own memory and CPU first, parses, and writes one
JSON object. A crash, a hang (killed by the parent's timeout) or a memory bomb ends only that process. Imports no
Django.

`python -m rag.ingestion.extract_child serve FD` is the zygote (`rag.ingestion.parser_zygote` starts one per
process that ingests): it imports the parsers once and, for each request on the socket FD, forks the process that
parses that one file. A fork of a process that has never opened a file costs ~1 ms where starting an interpreter
and importing the parsers cost 25-50 ms, and each file still gets a fresh process of its own.
"""

import json
import os
import resource
import signal
import socket
import sys
from pathlib import Path
from typing import IO

from rag.ingestion.parsers import ParseError, TextBlock, parse_docx, parse_html, parse_pdf, parse_text

PROBE_CHARS = 200
REQUEST_BYTES = 65536


def _limit(memory_mb: int, cpu_seconds: int) -> None:
    """`memory_mb` is what this parse may add to the address space it starts with (the interpreter and the
    parsers, ~200 MB of mostly shared, untouched mappings), so the setting means the same whatever is preloaded."""
    memory = _address_space() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _address_space() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def parse(kind: str, path: Path, *, max_pages: int, probe: bool) -> tuple[list[TextBlock], int | None]:
    if kind == "pdf":
        return parse_pdf(path, max_pages=max_pages, probe=probe)
    if kind == "docx":
        return parse_docx(path), None
    if kind == "html":
        return parse_html(path), None
    if kind == "image":
        from rag.ingestion.ocr import image_file_blocks  # Pillow: ~20 ms of a text file's parse, so only for images

        return image_file_blocks(path), None
    return parse_text(path, markdown=kind == "md"), None


def answer(request: dict, out: IO[str]) -> None:
    """Parse the file `request` names, under its limits, and write the JSON answer to `out`."""
    _limit(request["memory_mb"], cpu_seconds=request["cpu_seconds"])
    probe = request["probe"]
    try:
        blocks, pages = parse(request["kind"], Path(request["path"]), max_pages=request["max_pages"], probe=probe)
    except ParseError as exc:
        json.dump({"ok": False, "code": exc.code, "detail": exc.detail}, out)
        return
    if probe:  # the upload-time check only asks whether there is any text: send back a little of it at most
        first = next((block for block in blocks if block.text.strip()), None)
        blocks = [] if first is None else [TextBlock(first.text[:PROBE_CHARS], first.page, first.heading)]
    payload = {"ok": True, "pages": pages, "blocks": [[b.text, b.page, b.heading] for b in blocks]}
    json.dump(payload, out, ensure_ascii=False)


def serve(channel: socket.socket) -> int:
    """The zygote's loop: a request (JSON, with the answer pipe's write end passed along) in, the parsing
    process's pid out. Ends when the parent closes its end."""
    _preload()
    signal.signal(signal.SIGCHLD, _reap)  # no zombies; waited for, so their CPU time counts as the zygote's
    while True:
        try:
            request, fds, _flags, _address = socket.recv_fds(channel, REQUEST_BYTES, 1)
        except (OSError, ConnectionError):
            return 0
        if not request:
            return 0
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            channel.sendall(b"0")
            continue
        pid = os.fork()
        if pid == 0:
            channel.close()
            os._exit(_parse_in_fork(json.loads(request), fds[0]))
        os.close(fds[0])
        channel.sendall(str(pid).encode())


def _reap(_signal: int, _frame: object) -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _parse_in_fork(request: dict, fd: int) -> int:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # Tesseract (OCR) is a child process waited for as usual
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            answer(request, out)
    except BaseException:  # noqa: BLE001  (a parser's crash ends this process without an answer: reported so)
        return 1
    return 0


def _preload() -> None:
    """What the parsers import lazily, imported once here so that each forked process starts with it."""
    import bs4  # noqa: F401
    import docx  # noqa: F401
    import pypdf  # noqa: F401
    import pytesseract  # noqa: F401
    from PIL import Image, ImageOps  # noqa: F401

    import rag.ingestion.ocr  # noqa: F401


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "serve":
        sys.stderr.write("usage: python -m rag.ingestion.extract_child serve FD\n")
        return 2
    return serve(socket.socket(fileno=int(argv[1])))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
