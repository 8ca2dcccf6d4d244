"""Refresh-token flushing, on real rows, through the job function the schedule calls."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from realtime_chat.accounts import tasks
from realtime_chat.accounts.models import User

pytestmark = pytest.mark.django_db


def expire(refresh: RefreshToken) -> None:
    OutstandingToken.objects.filter(jti=refresh["jti"]).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_flush_deletes_expired_tokens_blacklisted_or_not_and_keeps_live_blacklisted_ones(
    user: User, api_client: APIClient
) -> None:
    expired_plain, expired_revoked = RefreshToken.for_user(user), RefreshToken.for_user(user)
    live_revoked, live = RefreshToken.for_user(user), RefreshToken.for_user(user)
    expired_revoked.blacklist()
    live_revoked.blacklist()
    expire(expired_plain)
    expire(expired_revoked)

    result = tasks.refresh_tokens_flush()

    assert result == "deleted 2 expired refresh tokens"
    remaining = set(OutstandingToken.objects.values_list("jti", flat=True))
    assert remaining == {live_revoked["jti"], live["jti"]}
    assert list(BlacklistedToken.objects.values_list("token__jti", flat=True)) == [live_revoked["jti"]]
    # The revoked token's row survived the flush, so it is still refused.
    refused = api_client.post(reverse("auth-refresh"), {"refresh": str(live_revoked)}, format="json")
    assert refused.status_code == 401
    assert tasks.refresh_tokens_flush() == "deleted 0 expired refresh tokens"
