"""The console end to end in a real headless browser (Debian's chromium, Playwright):
an operator's round, and a cross-site form post that must be refused."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console.browser import ARGS, CHROMIUM, browser_missing, require_all
from tests.console.scenario import Scenario, console_scenario
from tests.harness import free_port

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    missing = browser_missing()
    if missing:
        if require_all():
            pytest.fail(f"GATEWAY_TEST_REQUIRE_ALL=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def sc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    with console_scenario(tmp_path_factory.mktemp("console-browser") / "gw") as scenario:
        yield scenario


@pytest.fixture
def page(chromium: Any, sc: Scenario) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def log_in(page: Any, sc: Scenario, role: str = "operator") -> None:
    page.goto(sc.cfg.url + "/console/")
    assert page.url.startswith(sc.cfg.url + "/console/login")
    page.get_by_label("Operator token").fill(sc.cfg.tokens[role])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(sc.cfg.url + "/console/")


class _AttackerPage(http.server.BaseHTTPRequestHandler):
    html = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, format: str, *args: object) -> None:
        return


def test_a_cross_site_form_post_is_refused(page: Any, sc: Scenario, tmp_path: Path) -> None:
    log_in(page, sc)  # the victim has a live session
    page.goto(sc.cfg.url + "/console/dead-letters")
    dead = page.locator("form[action$='/retry']").first.get_attribute("action")
    assert dead is not None
    # Another loopback origin (same site, other port: SameSite alone would not stop it).
    _AttackerPage.html = (
        f'<!doctype html><form method="post" action="{sc.cfg.url}{dead}">'
        '<input name="csrf_token" value="guessed"><button>Win a prize</button></form>'
    ).encode()
    port = free_port()
    server = http.server.HTTPServer(("127.0.0.1", port), _AttackerPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page.goto(f"http://127.0.0.1:{port}/")
        with page.expect_response(lambda r: r.url.endswith("/retry")) as answer:
            page.get_by_role("button", name="Win a prize").click()
        assert answer.value.status == 403
        assert "console-cross-site" in page.content()
    finally:
        server.shutdown()
        server.server_close()
    # Nothing was requeued.
    page.goto(sc.cfg.url + "/console/dead-letters")
    assert page.locator(f"form[action='{dead}']").count() == 1


def test_an_operators_round(page: Any, sc: Scenario) -> None:
    log_in(page, sc)
    assert page.get_by_role("heading", name="Overview").is_visible()
    assert page.locator("svg[role=img]").count() == 3

    # Filter the timeline to refusals and read one's reason.
    page.get_by_role("link", name="Timeline").click()
    page.get_by_label("Kind").select_option("refused")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*kind=refused.*"))
    kinds = page.locator("table.events tbody tr td:nth-child(3)").all_inner_texts()
    assert kinds and set(kinds) == {"refused"}
    assert page.get_by_text("the message has no Signature-Input").first.is_visible()
    page.locator("table.events tbody tr", has_text="signature-missing").locator(
        "td:first-child a"
    ).first.click()
    assert page.get_by_role("heading", name=re.compile(r"Audit entry \d+")).is_visible()
    assert "signature" in page.locator("dd.summary").inner_text()

    # Open a message: Arabic right to left beside its INTERPOL translation.
    page.goto(f"{sc.cfg.url}/console/timeline?message_id={sc.gcc_message}")
    page.locator(f"a[href='/console/messages/{sc.gcc_message}']").first.click()
    panels = page.locator("article.panel")
    assert panels.count() == 2
    arabic = panels.nth(0).locator("[lang=ar][dir=rtl]").first
    assert arabic.evaluate("e => getComputedStyle(e).direction") == "rtl"
    first, second = panels.nth(0).bounding_box(), panels.nth(1).bounding_box()
    assert first["x"] < second["x"] and abs(first["y"] - second["y"]) < 2  # side by side
    assert page.get_by_text("1411-08-18 AH").first.is_visible()

    # Retry a dead letter.
    page.get_by_role("link", name="Dead letters").click()
    retry = page.get_by_role("button", name=re.compile(r"Retry delivery"))
    assert retry.count() >= 1
    retry.first.click()
    assert page.get_by_role("status").inner_text().startswith("The delivery is queued again")

    # Log out: the console is closed again.
    page.get_by_role("button", name="Log out").click()
    assert page.get_by_role("status").inner_text() == "You are logged out."
    page.goto(sc.cfg.url + "/console/dead-letters")
    assert "/console/login" in page.url


def test_keyboard_reaches_the_login_form(page: Any, sc: Scenario) -> None:
    page.goto(sc.cfg.url + "/console/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    for _ in range(3):  # past the header's link to the token field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "token":
            break
    assert page.evaluate("document.activeElement.id") == "token"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")  # focus is visible
    page.keyboard.type(sc.cfg.tokens["auditor"])
    page.keyboard.press("Enter")
    page.wait_for_url(sc.cfg.url + "/console/")
