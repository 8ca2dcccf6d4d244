"""The parser zygote: every file in a process of its own, forked from one that never opened a file; the zygote
outlives a parser's crash or timeout, is replaced when it dies, and a forked worker starts its own."""

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from rag.ingestion.extract import ExtractionFailed, extract
from rag.ingestion.parser_zygote import zygote
from tests.rag.files import pdf_bytes, slow_pdf_bytes


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def zygote_pid() -> int:
    assert zygote._process is not None
    return zygote._process.pid


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue  # ended meanwhile
            if f"\nPPid:\t{pid}\n" in status:
                found.append(int(entry.name))
    return found


def test_a_crash_or_a_timeout_ends_the_parsing_process_only(tmp_path, settings):
    assert extract(write(tmp_path, "a.txt", "first"), "txt").blocks[0].text == "first"
    started = zygote_pid()
    settings.RAG_EXTRACT_MEMORY_MB = 1
    with pytest.raises(ExtractionFailed, match="crashed"):
        extract(write(tmp_path, "big.pdf", slow_pdf_bytes()), "pdf")
    settings.RAG_EXTRACT_MEMORY_MB = 1024
    settings.RAG_EXTRACT_TIMEOUT_SECONDS = 0.05
    with pytest.raises(ExtractionFailed, match="took longer than"):
        extract(write(tmp_path, "slow.pdf", slow_pdf_bytes()), "pdf")
    deadline = time.monotonic() + 5
    while children_of(started) and time.monotonic() < deadline:  # killed, then reaped by the kernel
        time.sleep(0.01)
    assert children_of(started) == []
    settings.RAG_EXTRACT_TIMEOUT_SECONDS = 60
    assert extract(write(tmp_path, "b.pdf", pdf_bytes(["second"])), "pdf").blocks[0].text == "second"
    assert zygote_pid() == started


def test_a_zygote_that_dies_is_replaced_on_the_next_file(tmp_path):
    extract(write(tmp_path, "a.txt", "first"), "txt")
    before = zygote_pid()
    os.kill(before, signal.SIGKILL)
    assert extract(write(tmp_path, "b.txt", "second"), "txt").blocks[0].text == "second"
    assert zygote_pid() != before


def test_threads_parse_side_by_side(tmp_path):
    texts = [f"document number {n}" for n in range(16)]
    paths = [write(tmp_path, f"{n}.txt", text) for n, text in enumerate(texts)]
    results: dict[int, str] = {}

    def parse(n: int) -> None:
        results[n] = extract(paths[n], "txt").blocks[0].text

    threads = [threading.Thread(target=parse, args=(n,)) for n in range(len(paths))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[n] for n in range(len(texts))] == texts


def test_a_forked_worker_starts_a_zygote_of_its_own(tmp_path):
    """django-q2's workers are forked from the cluster: the parent's zygote socket must not be shared."""
    path = write(tmp_path, "a.txt", "from the worker")
    extract(path, "txt")
    parent_zygote = zygote_pid()
    read, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: report its zygote's pid and what it parsed, then leave without pytest's teardown
        try:
            text = extract(path, "txt").blocks[0].text
            os.write(write_end, f"{zygote_pid()} {text}".encode())
            zygote.stop()
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read) as pipe:
        reported = pipe.read()
    os.waitpid(pid, 0)
    child_zygote, text = reported.split(" ", 1)
    assert text == "from the worker"
    assert int(child_zygote) != parent_zygote
    assert extract(path, "txt").blocks[0].text == "from the worker"  # the parent's own still answers
    assert zygote_pid() == parent_zygote
