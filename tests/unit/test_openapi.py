"""The OpenAPI document (gateway/openapi.py) documents exactly the routes the app serves."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
from starlette.routing import BaseRoute, Mount, Route

from gateway.app import create_app
from gateway.openapi import (
    docs_html,
    documented_operations,
    mounted_operations,
    openapi_document,
)
from gateway.problems import PROBLEM_MEDIA_TYPE
from tests.harness import write_config


def app_routes(tmp_path: Path) -> list[BaseRoute]:
    cfg = write_config(tmp_path)
    return list(create_app(cfg.directory).routes)


def registered_operations(routes: list[BaseRoute]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            children = [
                (route.path + r.path if r.path != "/" else route.path + "/", r)
                for r in route.routes
            ]
        else:
            children = [(getattr(route, "path", ""), route)]
        for path, child in children:
            assert isinstance(child, Route), f"{child!r} is not a plain route; document it"
            for method in child.methods or ():
                if method != "HEAD":  # Starlette adds HEAD to every GET
                    out.add((method, path))
    return out


def test_every_route_is_documented_and_every_documented_route_exists(tmp_path: Path) -> None:
    routes = app_routes(tmp_path)
    registered = registered_operations(routes)
    documented = documented_operations(routes)
    assert registered - documented == set(), "routes missing from gateway/openapi.py"
    assert documented - registered == set(), "documented operations the app does not serve"
    paths = openapi_document(mounted_operations(routes))["paths"]
    assert {(m.upper(), p) for p, ops in paths.items() for m in ops} == registered


def test_the_json_api_is_written_by_hand_not_derived(tmp_path: Path) -> None:
    """Only mounted pages (the console) are derived from the routes; every plain route
    must be one of the hand-written operations."""
    routes = app_routes(tmp_path)
    plain = registered_operations([r for r in routes if not isinstance(r, Mount)])
    assert plain == documented_operations(), plain ^ documented_operations()


def test_document_shape(tmp_path: Path) -> None:
    doc = openapi_document(mounted_operations(app_routes(tmp_path)))
    assert doc["openapi"] == "3.1.0"
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerToken"] == schemes["bearerToken"] | {"type": "http", "scheme": "bearer"}
    assert "RFC 9421" in schemes["httpMessageSignature"]["description"]
    jsonschema.Draft202012Validator.check_schema(doc["components"]["schemas"]["Problem"])
    for path, ops in doc["paths"].items():
        for name in re.findall(r"{(\w+)}", path):
            for op in ops.values():
                assert any(p["in"] == "path" and p["name"] == name for p in op["parameters"])
        for method, op in ops.items():
            for status, response in op["responses"].items():
                for media in response.get("content", {}).values():
                    schema = media["schema"]
                    if "$ref" not in schema:
                        jsonschema.Draft202012Validator.check_schema(schema)
                if int(status) >= 400 and op["tags"] != ["console"]:
                    assert set(response["content"]) == {PROBLEM_MEDIA_TYPE}, (method, path)
            assert "431" in op["responses"]


def test_messages_endpoint_documents_every_api_md_status() -> None:
    op = openapi_document()["paths"]["/v1/messages"]["post"]
    statuses = {int(s) for s in op["responses"]}
    assert statuses >= {202, 400, 401, 403, 409, 413, 415, 422, 429, 503}
    assert op["security"] == [{"httpMessageSignature": []}]
    assert set(op["requestBody"]["content"]) == {
        "application/vnd.interpol.notice+json",
        "application/vnd.gccpol.alert+xml",
    }
    assert "Retry-After" in op["responses"]["429"]["headers"]


def test_operator_endpoints_need_bearer_tokens_with_a_role() -> None:
    for path, ops in openapi_document()["paths"].items():
        for op in ops.values():
            if path.startswith(("/v1/audit", "/v1/deliveries", "/v1/admin", "/v1/routing")):
                assert op["security"] == [{"bearerToken": []}]
                assert "role" in op["description"]


def test_docs_page_fetches_nothing_from_outside() -> None:
    page = docs_html()
    assert "/v1/messages" in page and "/v1/admin/reload" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page
