from pathlib import Path

import pytest
from rest_framework.test import APIClient

from realtime_chat.accounts.models import User
from realtime_chat.accounts.services import token_pair_issue


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    """Stored images go to the test's own directory, so a test can see that nothing was stored."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def stranger_client(stranger: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=stranger)['access']}")
    return client


def stored_files(media_root: Path) -> list[Path]:
    return [path for path in media_root.rglob("*") if path.is_file()]
