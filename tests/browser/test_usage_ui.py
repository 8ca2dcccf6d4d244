"""The Usage and Insights pages in Chromium: after real chats, the figures and the charts' data are the API's,
on a desktop and on a phone, in light and dark."""

import httpx
import pytest
from playwright.sync_api import Page, expect

from realtime_chat.accounts.models import User
from tests.browser.steps import PASSWORD, log_in, new_chat, screenshot, send, verified_user, wait_answer
from tests.servers import DaphneServer

pytestmark = [pytest.mark.browser, pytest.mark.llm, pytest.mark.django_db(transaction=True)]
CHART_DATA = """(testid) => {
  const chart = window.Chart.getChart(document.querySelector(`[data-testid="${testid}"]`));
  return chart.data.datasets.map((set) => set.data);
}"""
LEGEND_COLOUR = """() => window.Chart.getChart(document.querySelector('[data-testid="usage-chart-tokens"]'))
  .options.plugins.legend.labels.color"""
OVERFLOW = """() => {
  const view = document.querySelector('[data-testid="usage-view"]');
  return Math.max(document.scrollingElement.scrollWidth - window.innerWidth, view.scrollWidth - view.clientWidth,
                  view.getBoundingClientRect().right - window.innerWidth);
}"""


@pytest.fixture
def daphne_settings() -> dict[str, str]:
    return {"CHAT_DAILY_TOKEN_BUDGET": "100000"}


def api_get(server: DaphneServer, username: str, path: str) -> dict:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        login = client.post("/api/auth/login/", json={"username": username, "password": PASSWORD})
        response = client.get(path, headers={"Authorization": f"Bearer {login.json()['access']}"})
        assert response.status_code == 200, response.text
        return response.json()


def shown(value: int | float | None) -> str:
    return "\N{EN DASH}" if value is None else f"{value:,}"


def expect_figures_match(page: Page, totals: dict) -> None:
    for key in ("turns", "prompt_tokens", "completion_tokens", "errors", "ttft_p50_ms", "ttft_p95_ms"):
        expect(page.get_by_test_id(f"usage-{key}")).to_have_text(shown(totals[key]))


def test_usage_page_shows_the_apis_figures_and_charts(page: Page, daphne: DaphneServer) -> None:
    username = verified_user(daphne, "ada", max_tokens=8, temperature=0.0, use_rag=False)
    log_in(page, daphne, username)
    new_chat(page)
    for number, question in enumerate(["Hello!", "Name a colour."], start=1):
        send(page, question)
        wait_answer(page, count=number)

    page.get_by_test_id("nav-usage").click()
    expect(page.get_by_test_id("usage-view")).to_have_attribute("data-state", "ready")
    report = api_get(daphne, username, "/api/usage/?bucket=day")
    assert report["totals"]["turns"] == 2
    expect_figures_match(page, report["totals"])
    expect(page.get_by_test_id("usage-budget")).to_contain_text(
        f"{shown(report['budget']['remaining'])} of 100,000 tokens left today"
    )
    prompt, completion = page.evaluate(CHART_DATA, "usage-chart-tokens")
    assert prompt == [bucket["prompt_tokens"] for bucket in report["buckets"]]
    assert completion == [bucket["completion_tokens"] for bucket in report["buckets"]]
    (by_model,) = page.evaluate(CHART_DATA, "usage-chart-models")
    assert by_model == [f["prompt_tokens"] + f["completion_tokens"] for f in report["models"].values()]
    p50, p95 = page.evaluate(CHART_DATA, "usage-chart-ttft")
    assert (p50, p95) == ([b["ttft_p50_ms"] for b in report["buckets"]], [b["ttft_p95_ms"] for b in report["buckets"]])
    expect(page.get_by_test_id("nav-insights")).to_be_hidden()  # not staff
    screenshot(page, "usage-light")
    light = page.evaluate(LEGEND_COLOUR)

    page.get_by_test_id("theme-toggle").click()  # the charts are drawn again in the other theme's colours
    page.wait_for_function(f"() => ({LEGEND_COLOUR})() !== {light!r}")
    expect(page.get_by_test_id("usage-turns")).to_have_text("2")
    screenshot(page, "usage-dark")

    page.get_by_test_id("usage-bucket").select_option("hour")
    expect(page.get_by_test_id("usage-view")).to_have_attribute("data-state", "ready")
    hourly = api_get(daphne, username, "/api/usage/?bucket=hour")
    prompt, _ = page.evaluate(CHART_DATA, "usage-chart-tokens")
    assert prompt == [bucket["prompt_tokens"] for bucket in hourly["buckets"]] and len(prompt) == 25


@pytest.fixture
def staff_member(daphne: DaphneServer) -> str:
    """Made staff before the page opens (Django refuses the ORM while Playwright's loop runs in this thread)."""
    username = verified_user(daphne, "grace", max_tokens=8, temperature=0.0, use_rag=False)
    User.objects.filter(username=username).update(is_staff=True)
    return username


def test_insights_for_staff_and_usage_readable_on_a_phone(staff_member: str, phone: Page, daphne: DaphneServer) -> None:
    username = staff_member
    log_in(phone, daphne, username)
    new_chat(phone)
    send(phone, "Hello!")
    wait_answer(phone)

    phone.goto(daphne.url + "/usage/")
    expect(phone.get_by_test_id("usage-view")).to_have_attribute("data-state", "ready")
    expect_figures_match(phone, api_get(daphne, username, "/api/usage/")["totals"])
    assert phone.evaluate(OVERFLOW) <= 0  # nothing wider than the phone
    screenshot(phone, "usage-phone")

    phone.goto(daphne.url + "/insights/")
    expect(phone.get_by_test_id("usage-view")).to_have_attribute("data-state", "ready")
    everyone = api_get(daphne, username, "/api/admin/usage/")
    expect_figures_match(phone, everyone["totals"])
    top = phone.get_by_test_id("usage-top-users").locator("tbody tr").first
    expect(top).to_contain_text(username)
    expect(top).to_contain_text(shown(everyone["top_users"][0]["tokens"]))
    expect(phone.get_by_test_id("usage-providers")).to_contain_text(next(iter(everyone["providers"])))
    assert phone.evaluate(OVERFLOW) <= 0
    screenshot(phone, "insights-phone")


def test_insights_is_refused_to_others(page: Page, daphne: DaphneServer) -> None:
    username = verified_user(daphne, "linus")
    log_in(page, daphne, username)
    page.goto(daphne.url + "/insights/")
    expect(page.get_by_test_id("usage-error")).to_contain_text("permission")
