"""Hostile JSON and query strings are client errors (issue 14, item 6): a 400 with a stable code and a readable
detail, on SQLite and PostgreSQL alike, never a 500. The socket's side is in tests/consumers/."""

import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from realtime_chat.chat.models import ChatSession
from realtime_chat.core.client_input import MAX_JSON_DEPTH, InvalidCharacters, InvalidJson, json_parse

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000


def post_json(client: APIClient, url: str, body: str):
    return client.generic("POST", url, body, content_type="application/json")


@pytest.mark.parametrize("url", [reverse("session-list"), reverse("rag-search"), reverse("auth-logout")])
def test_deeply_nested_json_is_a_400_on_authenticated_endpoints(auth_client: APIClient, url: str) -> None:
    response = post_json(auth_client, url, DEEP)
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_json", "detail": f"The JSON document is nested more than "
                                                                 f"{MAX_JSON_DEPTH} levels deep."}  # fmt: skip


@pytest.mark.parametrize("url", [reverse("auth-login"), reverse("auth-signup"), reverse("auth-refresh")])
def test_deeply_nested_json_is_a_400_before_login(api_client: APIClient, url: str) -> None:
    response = post_json(api_client, url, '{"username": ' + DEEP + "}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ('{"title": "a\\u0000b"}', "title: NUL characters are not allowed in text."),
        ('{"title": "a\\ud800b"}', "title: Lone surrogates (half a UTF-16 pair) are not allowed in text."),
        ('{"title": "fine", "\\u0000": 1}', "A key of the object: NUL characters are not allowed in text."),
        ('{"title": "fine", "extra": ["x", {"y": "\\udfff"}]}',
         "extra[1].y: Lone surrogates (half a UTF-16 pair) are not allowed in text."),
    ],
)  # fmt: skip
def test_nul_and_lone_surrogates_anywhere_in_a_body_are_a_400(auth_client: APIClient, body: str, detail: str) -> None:
    response = post_json(auth_client, reverse("session-list"), body)
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_characters", "detail": detail}
    assert not ChatSession.objects.exists()


def test_surrogate_pairs_are_text_like_any_other(auth_client: APIClient) -> None:
    response = post_json(auth_client, reverse("session-list"), '{"title": "smile \\ud83d\\ude00"}')
    assert response.status_code == 201
    assert response.json()["title"] == "smile \U0001f600"


@pytest.mark.parametrize("body", ["{not json", '{"title": NaN}', "[1, 2"])
def test_malformed_json_says_where(auth_client: APIClient, body: str) -> None:
    response = post_json(auth_client, reverse("session-list"), body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert response.json()["detail"].startswith("Not valid JSON: ")


def test_a_body_that_is_not_its_declared_charset_is_a_400(auth_client: APIClient) -> None:
    response = auth_client.generic(
        "POST", reverse("session-list"), b'{"title": "\xff"}', content_type="application/json; charset=utf-8"
    )
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_json", "detail": "The body is not valid utf-8 text."}


def test_a_json_body_over_the_limit_is_a_413(auth_client: APIClient, settings) -> None:
    body = json.dumps({"title": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    response = post_json(auth_client, reverse("session-list"), body)
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


@pytest.mark.parametrize("url", ["/api/search/?q=a%00b", "/api/sessions/?archived=%00", "/api/health/live/?x=%00"])
def test_a_nul_in_a_query_string_is_a_400(auth_client: APIClient, url: str) -> None:
    """On PostgreSQL the search answered 500: it refuses NUL in a query's text."""
    response = auth_client.get(url)
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_characters",
        "detail": "The query string holds %00 (NUL), which is not allowed in text.",
    }


def test_a_nul_in_a_page_query_string_is_a_plain_400(api_client: APIClient) -> None:
    assert api_client.get("/?q=%00").status_code == 400


# --- the parser itself --------------------------------------------------------------------------


def test_nesting_up_to_the_limit_is_accepted_and_one_more_level_is_not() -> None:
    assert json_parse("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    with pytest.raises(InvalidJson):
        json_parse("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    with pytest.raises(InvalidJson):
        json_parse('{"a": ' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1))


@pytest.mark.parametrize("text", ['"\\u0000"', '"\\uD800"', '["\\udbff"]', '"a\ud800"'])
def test_forbidden_characters_are_found_however_they_are_written(text: str) -> None:
    with pytest.raises(InvalidCharacters):
        json_parse(text)


def test_an_escaped_backslash_before_u0000_is_just_text() -> None:
    assert json_parse('"\\\\u0000"') == "\\u0000"
