"""The Postman collection (postman/collection.json), run by newman against a real daphne and the real local model."""

import subprocess
from pathlib import Path

import pytest

from tests.servers import PROJECT_ROOT, DaphneServer

pytestmark = [pytest.mark.live_server, pytest.mark.llm, pytest.mark.django_db(transaction=True)]

NEWMAN = Path.home() / ".cache/realtime-chat/newman/node_modules/.bin/newman"  # installed by `make system-deps`
COLLECTION = PROJECT_ROOT / "postman" / "collection.json"
RUN_SECONDS = 600  # one real-model answer can take half a minute on a busy 2-core machine


def test_postman_collection_passes_under_newman(live_daphne: DaphneServer) -> None:
    if not NEWMAN.exists():
        pytest.fail(f"newman is not installed at {NEWMAN}: run `make system-deps`")
    command = [
        str(NEWMAN), "run", str(COLLECTION),
        "--env-var", f"baseUrl={live_daphne.url}",
        "--working-dir", str(COLLECTION.parent),  # where the collection's upload files are
        "--reporters", "cli",
        "--color", "off",
    ]  # fmt: skip
    result = subprocess.run(  # noqa: S603  (a fixed command)
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=RUN_SECONDS, check=False
    )
    assert result.returncode == 0, f"newman exited with {result.returncode}:\n{result.stdout}\n{result.stderr}"
