"""`make screenshots`: PNGs of the console's main pages into docs/console/, taken from a
real gateway with the test scenario in its log, in Debian's headless chromium.

    python -m tests.console.screenshots [docs/console]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.console.browser import ARGS, CHROMIUM, browser_missing
from tests.console.scenario import console_scenario

VIEWPORT = {"width": 1280, "height": 860}


def take(out: Path) -> list[Path]:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        console_scenario(Path(tmp) / "gw") as sc,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
        base = sc.cfg.url

        def shot(name: str, *, full: bool = False) -> None:
            path = out / f"{name}.png"
            try:
                page.screenshot(path=str(path), full_page=full)
            except PlaywrightError:  # chromium sometimes drops the first capture of a page
                page.wait_for_timeout(300)
                page.screenshot(path=str(path), full_page=full)
            shrink(path)
            written.append(path)

        page.goto(base + "/console/")
        shot("login")
        page.fill("#token", sc.cfg.tokens["operator"])
        page.click("button[type=submit]")
        page.wait_for_url(base + "/console/")
        page.goto(base + "/console/log")  # starts a verification; the overview shows it
        _reload_until(page, "Verifies")
        page.goto(base + "/console/")
        shot("overview", full=True)
        page.goto(base + "/console/timeline")
        shot("timeline")
        page.select_option("#f-kind", "refused")
        page.click("form.filters button[type=submit]")
        shot("timeline-refused")
        page.goto(f"{base}/console/messages/{sc.gcc_message}")
        shot("message", full=True)
        page.goto(f"{base}/console/messages/{sc.red_message}#deliveries-h")
        shot("message-deliveries")
        page.goto(base + "/console/dead-letters")
        shot("dead-letters")
        page.goto(base + "/console/log")
        shot("audit-log")
        browser.close()
    return written


def shrink(path: Path) -> None:
    """A 128-colour palette PNG: the pages are flat colours and text, so this keeps them
    sharp at a third of the size (small enough to commit)."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(
            colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
    small.save(path, optimize=True)


def _reload_until(page: object, text: str, tries: int = 50) -> bool:
    import time

    for _ in range(tries):
        if text in page.content():  # type: ignore[attr-defined]
            return True
        time.sleep(0.1)
        page.reload()  # type: ignore[attr-defined]
    return False


def main() -> int:
    missing = browser_missing()
    if missing:
        print(f"screenshots: {missing}", file=sys.stderr)
        return 1
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/console")
    for path in take(out):
        print(f"{path} ({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
