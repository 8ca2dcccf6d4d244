"""GET /api/usage/ and /api/admin/usage/: figures from real turns, exact percentiles, scope, bad input."""

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from realtime_chat.accounts.models import User
from realtime_chat.accounts.services import token_pair_issue
from realtime_chat.chat.models import ChatSession, Message
from tests.factories import UserFactory
from tests.rag.factories import document_upload
from tests.realtime_chat.analytics.conftest import RecordTurn, real_turn

pytestmark = pytest.mark.django_db
USAGE, ADMIN_USAGE = reverse("usage"), reverse("admin-usage")
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user)['access']}")
    return client


def nearest_rank(values: list[int], percent: int) -> int:
    ordered = sorted(values)
    return ordered[math.ceil(percent * len(ordered) / 100) - 1]


@pytest.mark.llm
@pytest.mark.django_db(transaction=True)  # the turn reaches the database from another thread
@pytest.mark.usefixtures("chat_model")
def test_usage_counts_real_turns_as_the_database_recorded_them(
    auth_client: APIClient, user: User, stranger: User, session: ChatSession
) -> None:
    for question in ["Hello!", "What is 2 + 2?", "Name a colour."]:
        real_turn(auth_client, session, question)
    answers = list(Message.objects.filter(session=session, role=Message.Role.ASSISTANT))
    assert {answer.asked_by_id for answer in answers} == {user.pk}
    ttfts = [answer.first_token_ms for answer in answers]
    assert None not in ttfts

    body = auth_client.get(USAGE, {"bucket": "hour"}).json()

    totals = body["totals"]
    assert totals["turns"] == 3 and totals["errors"] == 0 and totals["cancellations"] == 0
    assert totals["prompt_tokens"] == sum(a.prompt_tokens for a in answers) > 0
    assert totals["completion_tokens"] == sum(a.completion_tokens for a in answers) > 0
    assert totals["ttft_p50_ms"] == nearest_rank(ttfts, 50)
    assert totals["ttft_p95_ms"] == nearest_rank(ttfts, 95)
    assert totals["tokens_per_second"] > 0
    assert len(body["buckets"]) == 25  # the last 24 hours, the first one partial
    assert sum(bucket["turns"] for bucket in body["buckets"]) == 3
    assert body["buckets"][-1]["turns"] == 3  # all just now
    assert body["models"]["smollm2:135m"]["turns"] == 3
    assert body["models"]["smollm2:135m"]["completion_tokens"] == totals["completion_tokens"]
    spent = totals["prompt_tokens"] + totals["completion_tokens"]  # all of it today: unlimited, but counted
    assert body["budget"] == {"limit": 0, "used": spent, "remaining": None, "resets_at": body["budget"]["resets_at"]}

    assert client_of(stranger).get(USAGE).json()["totals"]["turns"] == 0  # another user's turns are not theirs


def test_percentiles_are_exact_nearest_rank_per_bucket_and_per_model(
    auth_client: APIClient, user: User, record_turn: RecordTurn
) -> None:
    first_hour = list(range(1, 21))  # 20 values: p50 = 10th, p95 = 19th
    for ms in reversed(first_hour):
        record_turn(user=user, at=NOON + timedelta(minutes=1), first_token_ms=ms * 10)
    record_turn(user=user, at=NOON + timedelta(hours=1), first_token_ms=700, model="other")  # a bucket of one
    record_turn(user=user, at=NOON + timedelta(hours=1), first_token_ms=None, status=Message.Status.ERROR)

    body = auth_client.get(USAGE, {"from": NOON.isoformat(), "to": (NOON + timedelta(hours=3)).isoformat(),
                                   "bucket": "hour"}).json()  # fmt: skip

    first, second, third = body["buckets"]
    assert first["start"] == "2026-03-10T12:00:00Z"
    assert (first["turns"], first["ttft_p50_ms"], first["ttft_p95_ms"]) == (20, 100, 190)
    assert (second["turns"], second["errors"], second["ttft_p50_ms"], second["ttft_p95_ms"]) == (2, 1, 700, 700)
    assert (third["turns"], third["ttft_p50_ms"]) == (0, None)
    all_values = [ms * 10 for ms in first_hour] + [700]
    assert body["totals"]["ttft_p50_ms"] == nearest_rank(all_values, 50) == 110
    assert body["totals"]["ttft_p95_ms"] == nearest_rank(all_values, 95) == 200
    assert body["models"]["other"]["ttft_p95_ms"] == 700
    assert body["models"]["smollm2:135m"]["ttft_p50_ms"] == 100


def test_fallbacks_sources_and_tokens_per_second_are_counted(
    auth_client: APIClient, user: User, record_turn: RecordTurn
) -> None:
    record_turn(user=user, at=NOON, fallback_from=["primary/llama: timeout"], sources=[{"number": 1}])
    record_turn(user=user, at=NOON, completion_tokens=30, first_token_ms=500, total_ms=2500)
    record_turn(user=user, at=NOON, status=Message.Status.CANCELLED, completion_tokens=0)

    totals = auth_client.get(USAGE, {"from": NOON.isoformat(), "bucket": "day"}).json()["totals"]

    assert (totals["fallbacks"], totals["answers_with_sources"], totals["cancellations"]) == (1, 1, 1)
    assert totals["tokens_per_second"] == round((20 + 30) * 1000 / (1000 + 2000), 2)


def test_days_are_bucketed_in_utc_and_the_range_is_bounded(
    auth_client: APIClient, user: User, record_turn: RecordTurn
) -> None:
    record_turn(user=user, at=NOON - timedelta(days=1))
    record_turn(user=user, at=NOON)
    record_turn(user=user, at=NOON + timedelta(days=5))  # outside `to`

    body = auth_client.get(USAGE, {"from": (NOON - timedelta(days=1)).isoformat(),
                                   "to": (NOON + timedelta(days=1)).isoformat()}).json()  # fmt: skip

    assert [(b["start"][:10], b["turns"]) for b in body["buckets"]] == [
        ("2026-03-09", 1), ("2026-03-10", 1), ("2026-03-11", 0)
    ]  # fmt: skip
    assert body["bucket"] == "day" and body["totals"]["turns"] == 2


@pytest.mark.parametrize(
    "params",
    [
        {"bucket": "week"},
        {"from": "yesterday"},
        {"from": "2026-03-10T12:00:00Z", "to": "2026-03-10T11:00:00Z"},
        {"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z", "bucket": "hour"},
        {"to": "0001-01-01T00:00:00Z"},
        {"from": "9999-12-31T23:00:00Z", "to": "9999-12-31T23:59:59Z", "bucket": "hour"},
    ],
)
def test_bad_ranges_are_400_with_detail(auth_client: APIClient, params: dict) -> None:
    response = auth_client.get(USAGE, params)
    assert response.status_code == 400
    assert response.json()["detail"] and response.json()["code"] == "invalid"


@pytest.mark.parametrize("url", [USAGE, ADMIN_USAGE])
def test_usage_needs_a_valid_token(api_client: APIClient, url: str) -> None:
    assert api_client.get(url).status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION="Bearer forged.token.value")
    assert api_client.get(url).status_code == 401


def test_admin_usage_is_for_staff_only(auth_client: APIClient) -> None:
    response = auth_client.get(ADMIN_USAGE)
    assert response.status_code == 403 and response.json()["detail"]


def test_admin_usage_adds_everyone_top_users_and_provider_health(
    user: User, stranger: User, record_turn: RecordTurn
) -> None:
    staff = UserFactory(is_staff=True)
    for _ in range(3):
        record_turn(user=user, at=NOON, provider="local")
    record_turn(user=stranger, at=NOON, provider="remote", status=Message.Status.ERROR, prompt_tokens=5,
                completion_tokens=0)  # fmt: skip

    body = client_of(staff).get(ADMIN_USAGE, {"from": NOON.isoformat(), "bucket": "day"}).json()

    assert body["totals"]["turns"] == 4 and body["totals"]["errors"] == 1
    assert body["top_users"][0] == {"username": user.username, "turns": 3, "tokens": 90, "errors": 0}
    assert body["top_users"][1] == {"username": stranger.username, "turns": 1, "tokens": 5, "errors": 1}
    assert body["providers"]["remote"]["error_rate"] == 1.0
    assert body["providers"]["local"]["error_rate"] == 0.0
    assert body["providers"]["local"]["breaker_trips"] == 0
    assert body["ingestion"]["documents"] == 0


@pytest.mark.usefixtures("isolated_rag_storage")
def test_usage_reports_the_document_quota(auth_client: APIClient, settings) -> None:
    settings.RAG_MAX_BYTES_PER_USER = 1000
    auth_client.post(reverse("document-list"), {"file": SimpleUploadedFile("a.txt", b"Notes about insulin.")})
    quota = auth_client.get(USAGE).json()["quota"]
    assert quota == {"documents": 1, "bytes": 20, "max_documents": 0, "max_bytes": 1000}


@pytest.mark.embeddings
@pytest.mark.usefixtures("isolated_rag_storage")
def test_documents_and_chunks_ingested_for_real_are_counted(
    auth_client: APIClient, user: User, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # the ingestion job runs (django-q's sync mode)
        document = document_upload(user=user, name="notes.md", content="# Insulin\n\nInsulin lowers blood sugar.\n")
    document.refresh_from_db()
    assert document.status == "ready" and document.chunk_count > 0

    totals = auth_client.get(USAGE, {"bucket": "hour"}).json()["totals"]
    everyone = client_of(UserFactory(is_staff=True)).get(ADMIN_USAGE, {"bucket": "hour"}).json()

    assert (totals["documents_ingested"], totals["chunks_ingested"]) == (1, document.chunk_count)
    assert everyone["ingestion"]["documents"] == 1 and everyone["ingestion"]["chunks"] == document.chunk_count
    assert everyone["ingestion"]["chunks_per_second"] > 0
