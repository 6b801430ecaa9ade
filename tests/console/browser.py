"""Headless Chromium for the console's browser tests and screenshots: Debian's chromium
driven by Playwright for Python (never `playwright install`: no downloaded browser)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SETUP = Path(__file__).with_name("setup.sh")


def require_all() -> bool:
    return os.environ.get("GATEWAY_TEST_REQUIRE_ALL") == "1"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here (None: they can). Runs setup.sh first, which
    installs Debian's chromium when it is missing and this user may."""
    if not Path(CHROMIUM).exists() and shutil.which("bash"):
        subprocess.run(["bash", str(SETUP)], check=False, timeout=900)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright (PyPI) is not installed: pip install -e '.[dev]'"
    if not Path(CHROMIUM).exists():
        return (
            f"{CHROMIUM} is missing: run tests/console/setup.sh as root (apt-get install chromium)"
        )
    return None
