"""The operators' web console at /console (api.md "Operator console", docs/console.md).

Server-rendered pages (Jinja2 templates, one stylesheet, no JavaScript): login with an
operator token, the audit timeline, one message's life, dead letters, the audit log's
checkpoint and verification, and charts drawn as SVG on the server.

``create_app`` builds one `Console` and registers ``console.routes()``.
"""

from __future__ import annotations

from starlette.routing import Mount

from gateway.console import auth, operations, pages
from gateway.console.web import Console

__all__ = ["Console", "console_mount"]


def console_mount(console: Console) -> Mount:
    """Every console route under /console, with the security headers middleware."""
    return console.mount(
        [*auth.routes(console), *operations.routes(console), *pages.routes(console)]
    )
