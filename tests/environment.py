"""A pytest plugin loaded with `-p tests.environment` (pyproject.toml), so it runs before Django is set up.

Tests use DJANGO_ENV=test: tasks run inline, fast password hashing, mail kept in memory. The models are
loaded from installed packages only; nothing is downloaded.
"""

import os
from pathlib import Path

os.environ.setdefault("DJANGO_ENV", "test")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_unconfigure(config: object) -> None:
    """Django deletes the SQLite test database but not the WAL files its last connections leave beside it."""
    from django.conf import settings

    if not settings.configured:
        return
    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if name and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        for suffix in ("-wal", "-shm"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)
