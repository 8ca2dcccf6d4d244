"""An unknown /api/ path is a JSON 404 (issue 14, item 11), with DEBUG on as well: Django answered it with its
HTML debug page, which handler404 never sees."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[True, False], ids=["debug", "production-like"])
def debug(request: pytest.FixtureRequest, settings) -> bool:
    settings.DEBUG = request.param
    return request.param


@pytest.mark.usefixtures("debug")
@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
@pytest.mark.parametrize("path", ["/api/nope/", "/api/sessions/1/nope/", "/api/", "/api/v2/sessions/"])
def test_an_unknown_api_path_is_a_json_404(method: str, path: str) -> None:
    client = Client(enforce_csrf_checks=True)  # a POST to nowhere is still a 404, not a CSRF page
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.usefixtures("debug")
def test_a_get_without_its_trailing_slash_is_redirected_as_before(auth_client) -> None:
    response = auth_client.get("/api/sessions?archived=true")
    assert response.status_code == 301
    assert response["Location"] == "/api/sessions/?archived=true"


@pytest.mark.usefixtures("debug")
def test_a_post_without_its_trailing_slash_is_told_the_path(auth_client) -> None:
    response = auth_client.post("/api/sessions", {"title": "x"}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found. API paths end with a slash: /api/sessions/", "code": "not_found"}


def test_an_unknown_page_outside_the_api_is_not_json(settings) -> None:
    settings.DEBUG = False
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
