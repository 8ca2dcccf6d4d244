"""A pytest plugin loaded with `-p tests.environment` (pyproject.toml), so it runs before Django is set up.

Tests use DJANGO_ENV=test: tasks run inline, fast password hashing, mail kept in memory. The models are
loaded from installed packages only; nothing is downloaded.
"""

import os

os.environ.setdefault("DJANGO_ENV", "test")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
