"""Schemathesis over the OpenAPI schema against a real daphne (issue 14, item 6): whatever a client sends to any
operation, the answer is never a 5xx. Bounded in examples and in time; one seed, so a failure can be replayed."""

import subprocess
import sys
from pathlib import Path

import pytest

from realtime_chat.accounts.services import token_pair_issue
from tests.factories import UserFactory
from tests.servers import DaphneServer

pytestmark = [pytest.mark.live_server, pytest.mark.django_db(transaction=True)]

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
MAX_SECONDS = 45  # the run's own budget: fuzzing repeats until it is spent
SEED = 14


def test_no_operation_answers_a_server_error(daphne_without_model: DaphneServer, tmp_path: Path) -> None:
    token = token_pair_issue(user=UserFactory())["access"]
    command = [
        str(SCHEMATHESIS), "run", f"{daphne_without_model.url}/api/schema/",
        "--checks", "not_a_server_error",
        "--header", f"Authorization: Bearer {token}",
        "--max-examples", "20",
        "--max-time", str(MAX_SECONDS),
        "--seed", str(SEED),
        "--workers", "1",
        "--request-timeout", "20",
        "--generation-database", "none",
        "--no-color",
    ]  # fmt: skip
    result = subprocess.run(  # noqa: S603  (a fixed command)
        command, cwd=tmp_path, capture_output=True, text=True, timeout=MAX_SECONDS + 60, check=False
    )
    report = result.stdout[result.stdout.find("FAILURES") :] if "FAILURES" in result.stdout else result.stdout
    assert result.returncode == 0, f"schemathesis exited with {result.returncode}:\n{report[-6000:]}\n{result.stderr}"
