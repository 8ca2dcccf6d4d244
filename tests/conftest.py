"""Fixtures shared by the whole suite."""

import os

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from realtime_chat.models import User
from realtime_chat.services.accounts import token_pair_issue
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Throttle counters and circuit breakers live in the cache; each test starts clean."""
    cache.clear()


@pytest.fixture
def user(db: None) -> User:
    return UserFactory()


@pytest.fixture
def stranger(db: None) -> User:
    """Another user, whose objects the first must never see."""
    return UserFactory()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def auth_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user)['access']}")
    return client


@pytest.fixture
def redis_url() -> str:
    """The Redis the suite may use; tests that need one skip, visibly, where none is reachable."""
    url = os.environ.get("TEST_REDIS_URL", "")
    if not url:
        pytest.skip("no Redis reachable (set TEST_REDIS_URL or run Redis on 127.0.0.1:6379)")
    return url
