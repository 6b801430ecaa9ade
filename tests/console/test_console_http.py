"""The console over real HTTP (httpx against the real server on loopback): login and
sessions, security headers, CSRF defences, role gating, the pages' content and the audit
events the console writes."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from gateway.console import pages
from tests.console.scenario import Scenario, console_scenario
from tests.harness import poll, running_gateway, write_config

pytestmark = pytest.mark.integration

HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def sc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    with console_scenario(tmp_path_factory.mktemp("console") / "gw") as scenario:
        yield scenario


_CLIENTS: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def browser(sc: Scenario) -> httpx.Client:
    c = httpx.Client(base_url=sc.cfg.url, headers=HTML, timeout=10)
    _CLIENTS.append(c)
    return c


def page_saying(c: httpx.Client, path: str, text: str) -> str:
    """Reload ``path`` until it contains ``text`` (with a deadline); its HTML."""

    def check() -> str | None:
        html = c.get(path).text
        return html if text in html else None

    return str(poll(check, timeout=20))


def login(sc: Scenario, role: str = "operator", client: httpx.Client | None = None) -> httpx.Client:
    c = client or browser(sc)
    r = c.post(
        "/console/login",
        data={"token": sc.cfg.tokens[role], "next": "/console/"},
        headers={"origin": sc.cfg.url},
    )
    assert r.status_code == 303, r.text
    return c


def csrf(c: httpx.Client, page: str = "/console/") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', c.get(page).text)
    assert found is not None
    return found.group(1)


def events(sc: Scenario, **query: str) -> list[dict[str, object]]:
    r = sc.api("/v1/audit/events?" + "&".join(f"{k}={v}" for k, v in query.items()))
    return [e["event"] for e in r.json()["events"]]


# ---- login, sessions, headers ------------------------------------------------------------


def test_pages_redirect_to_login_without_a_session(sc: Scenario) -> None:
    with browser(sc) as c:
        r = c.get("/console/timeline?kind=refused")
        assert r.status_code == 303
        assert r.headers["location"] == "/console/login?next=/console/timeline"
        assert c.get("/console").status_code in (307, 303)  # to /console/


def test_security_headers_on_every_console_response(sc: Scenario) -> None:
    with browser(sc) as c:
        for r in (
            c.get("/console/login"),
            c.get("/console/"),  # a redirect
            c.get("/console/static/console.css"),
            c.post("/console/login", data={"token": "x"}),  # a refusal (no Origin)
        ):
            csp = r.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp
            assert "script-src" not in csp and "default-src 'none'" in csp  # no script at all
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "same-origin"
            assert r.headers["x-frame-options"] == "DENY"
            assert r.headers["cache-control"] == "no-store"


def test_login_sets_a_strict_httponly_cookie_and_is_audited(sc: Scenario) -> None:
    with browser(sc) as c:
        r = c.post(
            "/console/login",
            data={"token": sc.cfg.tokens["auditor"], "next": "/console/log"},
            headers={"origin": sc.cfg.url},
        )
        assert r.status_code == 303 and r.headers["location"] == "/console/log"
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("gw_console=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
        assert "Secure" not in cookie  # plain http on loopback
        page = c.get("/console/log")
        assert page.status_code == 200 and "auditor-1" in page.text
    logins = events(sc, kind="operator_login", participant="auditor-1")
    assert logins and logins[0]["outcome"] == "accepted"
    assert logins[0]["actor"] == {"type": "operator", "id": "auditor-1"}
    assert sc.cfg.tokens["auditor"] not in orjson.dumps(logins).decode()


def test_cookie_is_secure_behind_https(sc: Scenario) -> None:
    # uvicorn trusts X-Forwarded-Proto from loopback, as from a TLS-terminating proxy.
    https_origin = f"https://{sc.cfg.authority}"
    with browser(sc) as c:
        r = c.post(
            "/console/login",
            data={"token": sc.cfg.tokens["auditor"]},
            headers={"origin": https_origin, "x-forwarded-proto": "https"},
        )
        assert r.status_code == 303, r.text
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("__Host-gw_console=")
        assert "Secure" in cookie and "Path=/;" in cookie and "HttpOnly" in cookie
        assert r.headers["strict-transport-security"].startswith("max-age=")


def test_a_wrong_token_is_refused_and_audited(sc: Scenario) -> None:
    with browser(sc) as c:
        r = c.post("/console/login", data={"token": "nope"}, headers={"origin": sc.cfg.url})
        assert r.status_code == 401
        assert "not known to this gateway" in r.text
        assert "set-cookie" not in r.headers
    # An API client gets the refusal as an RFC 9457 problem.
    r = httpx.post(
        sc.cfg.url + "/console/login", data={"token": "nope"}, headers={"origin": sc.cfg.url}
    )
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:gateway:problem:operator-token-unknown"
    refused = events(sc, kind="operator_login", outcome="operator-token-unknown")
    assert len(refused) >= 2 and refused[0]["actor"]["id"] == "unknown"


def test_logout_ends_the_session(sc: Scenario) -> None:
    c = login(sc)
    cookie = c.cookies.get("gw_console")
    token = csrf(c)
    r = c.post("/console/logout", data={"csrf_token": token}, headers={"origin": sc.cfg.url})
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    assert "gw_console=" in r.headers["set-cookie"] and "Max-Age=0" in r.headers["set-cookie"]
    # The old cookie, replayed, is worth nothing: the session is gone server-side.
    with browser(sc) as other:
        other.cookies.set("gw_console", cookie or "", domain="127.0.0.1", path="/console")
        assert other.get("/console/").status_code == 303
    assert events(sc, kind="operator_login", outcome="logged-out")


def test_login_redirects_only_inside_the_console(sc: Scenario) -> None:
    with browser(sc) as c:
        r = c.post(
            "/console/login",
            data={"token": sc.cfg.tokens["auditor"], "next": "//evil.example/x"},
            headers={"origin": sc.cfg.url},
        )
        assert r.headers["location"] == "/console/"


# ---- cross-site request defences -----------------------------------------------------------


def test_forms_need_the_session_csrf_token(sc: Scenario) -> None:
    c = login(sc)
    r = c.post(
        f"/console/deliveries/{sc.dead[0]}/retry",
        data={"csrf_token": "guessed"},
        headers={"origin": sc.cfg.url},
    )
    assert r.status_code == 403 and "CSRF token" in r.text
    refused = events(sc, kind="refused", outcome="console-csrf-token")
    assert refused and refused[0]["actor"] == {"type": "operator", "id": "operator-1"}
    assert sc.api("/v1/deliveries?state=dead").json()["deliveries"]  # nothing requeued


def test_forms_need_a_same_origin_origin_or_referer(sc: Scenario) -> None:
    c = login(sc)
    token = csrf(c)
    url = f"/console/deliveries/{sc.dead[0]}/retry"
    foreign = c.post(url, data={"csrf_token": token}, headers={"origin": "http://127.0.0.1:1"})
    assert foreign.status_code == 403 and "console-cross-site" in foreign.text
    bare = c.post(url, data={"csrf_token": token})
    assert bare.status_code == 403 and "console-origin-missing" in bare.text
    foreign_ref = c.post(
        url, data={"csrf_token": token}, headers={"referer": "http://evil.example/page"}
    )
    assert foreign_ref.status_code == 403
    assert events(sc, kind="refused", outcome="console-cross-site")


def test_a_form_without_a_session_is_refused(sc: Scenario) -> None:
    r = httpx.post(
        f"{sc.cfg.url}/console/deliveries/{sc.dead[0]}/retry",
        data={"csrf_token": "x"},
        headers={"origin": sc.cfg.url},
    )
    assert r.status_code == 401
    assert r.json()["type"] == "urn:gateway:problem:console-session-missing"


# ---- roles -------------------------------------------------------------------------------


def test_an_auditor_sees_dead_letters_but_cannot_retry(sc: Scenario) -> None:
    c = login(sc, "auditor")
    page = c.get("/console/dead-letters")
    assert page.status_code == 200
    assert sc.dead[0][:8] in page.text
    assert "/retry" not in page.text and ">Retry<" not in page.text
    r = c.post(
        f"/console/deliveries/{sc.dead[0]}/retry",
        data={"csrf_token": csrf(c)},
        headers={"origin": sc.cfg.url},
    )
    assert r.status_code == 403 and "operator-role-insufficient" in r.text
    assert events(sc, kind="refused", outcome="operator-role-insufficient")


def test_an_operator_retries_a_dead_letter(sc: Scenario) -> None:
    c = login(sc)
    page = c.get("/console/dead-letters")
    assert f"/console/deliveries/{sc.dead[0]}/retry" in page.text
    r = c.post(
        f"/console/deliveries/{sc.dead[0]}/retry",
        data={"csrf_token": csrf(c)},
        headers={"referer": sc.cfg.url + "/console/dead-letters"},  # Referer fallback
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/console/dead-letters?notice=requeued"
    assert "queued again" in c.get(r.headers["location"]).text
    requested = events(sc, kind="redelivery_requested")
    assert requested[0]["actor"] == {"type": "operator", "id": "operator-1"}
    assert requested[0]["details"]["delivery_id"] == sc.dead[0]
    # Back in the queue with a fresh budget (the recipient is still down: it will fail).
    pending = sc.api("/v1/deliveries?state=pending").json()["deliveries"]
    assert sc.dead[0] in [d["delivery_id"] for d in pending]


# ---- pages -------------------------------------------------------------------------------


def test_message_page_shows_its_whole_life_and_audits_the_view(sc: Scenario) -> None:
    c = login(sc, "auditor")
    r = c.get(f"/console/messages/{sc.gcc_message}")
    assert r.status_code == 200
    html = r.text
    # The original (GCC XML) and the translation for ipsg (INTERPOL JSON), side by side.
    assert "Original" in html and "Translation for ipsg" in html
    assert '<span class="value" lang="ar" dir="rtl">مريم خالد سالم المزروعي</span>' in html
    assert "1991-03-04" in html and "1411-08-18 AH" in html  # both calendars
    assert "rule:gcc-alerts-to-ipsg" in html  # the routing explanation
    assert "subject.mother_names[0]" in html  # the loss report
    assert "signed</span>" in html and "sig1=" in html  # the recipient's signed answer
    viewed = events(sc, kind="payload_viewed", message_id=sc.gcc_message)
    assert viewed[0]["actor"] == {"type": "operator", "id": "auditor-1"}
    assert viewed[0]["details"] == {"endpoint": "GET /console/messages/{message_id}"}
    assert "original" in viewed[0]["body_sha256"]


def test_message_page_explains_a_routing_refusal(sc: Scenario) -> None:
    c = login(sc, "auditor")
    html = c.get(f"/console/messages/{sc.secret_message}").text
    assert "caveat:classification" in html and "stays inside the gccpol system" in html
    assert "bad-row" in html


def test_unknown_message_is_a_404_page(sc: Scenario) -> None:
    c = login(sc, "auditor")
    r = c.get("/console/messages/no-such-message")
    assert r.status_code == 404 and "no message" in r.text


def test_timeline_filters_by_kind_and_shows_refusal_reasons(sc: Scenario) -> None:
    c = login(sc, "auditor")
    html = c.get("/console/timeline?kind=refused").text
    rows = re.findall(r"<td>(\w+)</td>\s*<td>(?:participant|operator|gateway) ", html)
    assert rows and set(rows) == {"refused"}
    assert "signature-missing" in html and "the message has no Signature-Input" in html
    by_message = c.get(f"/console/timeline?message_id={sc.red_message}").text
    assert "dead_lettered" in by_message and sc.gcc_message not in by_message


def test_timeline_pages_by_index(sc: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 5)  # the server runs in this process
    c = login(sc, "auditor")
    first = c.get("/console/timeline").text
    older = re.search(r'href="(/console/timeline\?[^"]*before=(\d+))"', first)
    assert older is not None
    indices_1 = [int(i) for i in re.findall(r'href="/console/events/(\d+)"', first)]
    assert len(indices_1) == 5 and indices_1 == sorted(indices_1, reverse=True)
    second = c.get(older.group(1).replace("&amp;", "&")).text
    indices_2 = [int(i) for i in re.findall(r'href="/console/events/(\d+)"', second)]
    assert indices_2 and max(indices_2) < min(indices_1)
    newer = re.search(r'href="(/console/timeline\?[^"]*after=\d+)"', second)
    assert newer is not None
    back = c.get(newer.group(1).replace("&amp;", "&")).text
    assert [int(i) for i in re.findall(r'href="/console/events/(\d+)"', back)] == indices_1


def test_timeline_refuses_a_bad_time(sc: Scenario) -> None:
    c = login(sc, "auditor")
    r = c.get("/console/timeline?since=yesterday")
    assert r.status_code == 400 and "since must be a time" in r.text


def test_event_page_shows_the_signed_leaf(sc: Scenario) -> None:
    c = login(sc, "auditor")
    html = c.get("/console/events/0").text
    assert "config_loaded" in html and "/v1/audit/proof/inclusion?index=0" in html


def test_overview_draws_charts_and_refusal_reasons(sc: Scenario) -> None:
    c = login(sc, "auditor")
    html = c.get("/console/").text
    assert html.count('<svg viewBox="0 0 640') == 3
    assert 'role="img"' in html and "<desc" in html
    assert "<script" not in html and "style=" not in html  # CSP: no inline script or style
    assert "signature-missing: 2" in html  # two unsigned posts in the scenario
    assert "dead letter" in html


def test_log_page_verifies_the_log(sc: Scenario) -> None:
    c = login(sc, "auditor")
    r = c.post("/console/log/verify", data={"csrf_token": csrf(c)}, headers={"origin": sc.cfg.url})
    assert r.status_code == 303 and "notice=verify-" in r.headers["location"]
    html = page_saying(c, "/console/log", "Verifies")
    assert "signed checkpoints verify" in html and "gateway.test/audit" in html


def test_a_tampered_log_is_reported_with_the_entry_at_fault(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "gw")
    with running_gateway(cfg):
        poll(lambda: httpx.get(cfg.url + "/v1/audit/checkpoint", headers=cfg.auth()).is_success)
        db = sqlite3.connect(cfg.directory / "gateway.db")
        with db:
            db.execute("UPDATE events SET leaf = CAST(? AS BLOB) WHERE idx = 0", (b"{}",))
        db.close()
        c = httpx.Client(base_url=cfg.url, headers=HTML)
        _CLIENTS.append(c)
        c.post("/console/login", data={"token": cfg.tokens["auditor"]}, headers={"origin": cfg.url})
        c.post(
            "/console/log/verify",
            data={"csrf_token": csrf(c, "/console/log")},
            headers={"origin": cfg.url},
        )
        html = page_saying(c, "/console/log", "NOT verify")
        assert 'href="/console/events/0"' in html
