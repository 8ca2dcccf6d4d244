"""Following an ingestion in a real browser: a long document uploaded through the page shows its stage, percent and
time left while a real worker (`manage.py qcluster`) ingests it, is cancelled from the page and retried to ready."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import Page, expect

from tests.browser.steps import log_in, screenshot, verified_user
from tests.rag.files import station_log
from tests.servers import PROJECT_ROOT, DaphneServer, database_url

pytestmark = [
    pytest.mark.browser,
    pytest.mark.llm,
    pytest.mark.embeddings,
    pytest.mark.live_server,
    pytest.mark.django_db(transaction=True),
]
# Short chunks in small batches: a document of some 60 KB goes through a hundred batches, slowly enough to watch.
INGESTION = {
    "Q_SYNC": "false",  # uploads are queued for the worker below, not ingested inside the request
    "REDIS_URL": "",  # daphne and the worker share the ORM broker of the test database
    "RAG_CHUNK_TOKENS": "48",
    "RAG_CHUNK_OVERLAP_TOKENS": "0",
    "RAG_EMBEDDING_BATCH_SIZE": "2",
    "RAG_PROGRESS_INTERVAL_MS": "200",
}


@pytest.fixture
def daphne_settings(tmp_path: Path) -> dict[str, str]:
    return {**INGESTION, "MEDIA_ROOT": str(tmp_path / "media")}


@pytest.fixture
def qcluster(daphne: DaphneServer, daphne_settings: dict[str, str], tmp_path: Path) -> Iterator[None]:
    """A real django-q worker on the test database, with daphne's settings."""
    log = tmp_path / "qcluster.log"
    environment = {
        **os.environ,
        "DJANGO_ENV": "test",
        "DATABASE_URL": database_url(connection.settings_dict),
        "Q_WORKERS": "1",
        **daphne_settings,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while "running." not in log.read_text(errors="replace"):
        assert process.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.2)
    yield
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: only the cluster and its workers
        process.wait(timeout=10)


def long_markdown() -> bytes:
    """Long enough that the embedding outlasts the clicks below on a CPU with fast int8 kernels (1,200 sentences
    were embedded in ~3 s on an AVX-512 VNNI Xeon, before the cancel landed)."""
    return ("# Station log\n\n" + station_log(4000) + "\n").encode()


def test_a_long_upload_shows_progress_and_time_left_is_cancelled_and_retried(
    page: Page, daphne: DaphneServer, qcluster: None
) -> None:
    log_in(page, daphne, verified_user(daphne, "ada"))
    page.get_by_test_id("nav-documents").click()
    page.get_by_test_id("file-input").set_input_files(
        files=[{"name": "station-log.md", "mimeType": "text/markdown", "buffer": long_markdown()}]
    )
    item = page.get_by_test_id("document-item").filter(has_text="station-log")
    expect(item).to_have_count(1)

    text = item.get_by_test_id("document-progress-text")
    expect(text).to_have_attribute("data-stage", "embedding", timeout=120_000)
    expect(text).to_contain_text("left", timeout=60_000)  # "Embedding · 37% · about 12 s left"
    bar = item.get_by_test_id("document-progress")
    assert 15 <= int(bar.evaluate("(element) => element.value")) < 90
    screenshot(page, "11-document-ingestion-progress")

    item.get_by_test_id("document-cancel").click()
    expect(item.get_by_test_id("document-status")).to_have_attribute("data-status", "cancelled")
    expect(item.get_by_test_id("document-cancelled")).to_contain_text("Retry")
    expect(item.get_by_test_id("document-progress")).to_have_count(0)
    expect(item.get_by_test_id("document-cancel")).to_have_count(0)

    item.get_by_test_id("document-retry").click()
    expect(item.get_by_test_id("document-progress-text")).to_be_visible()
    expect(item.get_by_test_id("document-status")).to_have_attribute("data-status", "ready", timeout=240_000)
    expect(item).to_contain_text("passages")
    expect(item.get_by_test_id("document-retry")).to_have_count(0)
