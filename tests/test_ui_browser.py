"""``tierlab ui`` in a real browser: Debian's Chromium, headless, driven by Playwright, offline.

One test walks what a user does: open the page, see every view, Step, Play, change the schedule
and a slider, Reset, and see the model start again with the new settings. Any page error, console
error, failed or non-local request fails it. It leaves a screenshot in test-artifacts/ui.png
(and in docs/ui.png, the README's, when TIERLAB_DOCS_SCREENSHOT=1).

Without /usr/bin/chromium the test is skipped on a developer's machine, but fails in CI (CI=true):
there a skip would hide a broken install. Install it with ``apt-get install -y chromium``; never
with ``playwright install``, which downloads a browser build this machine cannot reach.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACT = ROOT / "test-artifacts" / "ui.png"
README_SHOT = ROOT / "docs" / "ui.png"
VIEWPORT = {"width": 1600, "height": 2250}
CHARTS = ["Price and liquidations", "Liquidation map", "Concentration of open interest", "Open interest by tier",
          "Insurance fund, bad debt, ADL", "Margin schedule and whales", "Traders' social graph"]
TABLES = ["Cascades so far", "This run"]
SERVER_START = 90.0
LOCAL_URL = re.compile(r"^(https?|wss?)://(localhost|127\.0\.0\.1)(:\d+)?/|^(data|blob|about):")

pytestmark = pytest.mark.browser


def require_browser() -> None:
    """Skip without Chromium or Playwright on a developer's machine; fail in CI."""
    problem = None
    if not CHROMIUM.exists():
        problem = f"Debian's chromium is not at {CHROMIUM}: apt-get update && apt-get install -y chromium"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is missing: pip install -e '.[dev]'"
    if problem is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser test cannot run in CI: {problem}")
    pytest.skip(problem)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """``tierlab ui`` on a free localhost port; yields its URL, stops it after the test."""
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "sim.cli", "ui", str(ROOT / "configs" / "baseline.yaml"),
                                "--host", "localhost", "--port", str(port)],
                               cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}/"

    def up() -> bool:
        if process.poll() is not None:
            pytest.fail(f"tierlab ui exited ({process.returncode}):\n{(tmp_path / 'server.log').read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    try:
        wait_until(up, f"tierlab ui to answer at {url}", SERVER_START)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def steps_shown(page) -> float:
    return float(page.get_by_text(re.compile(r"^Time: ")).inner_text().split()[1])


def test_ui_in_chromium(server: str):
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    from sim.ui.assets import missing_assets

    missing = missing_assets()
    assert not missing, (f"{len(missing)} UI asset files missing (e.g. {missing[0]}): the page is blank offline; "
                         "run `make ui` or `python scripts/install_ui_assets.py`")

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
            page.on("console", lambda msg: problems.append(f"console error: {msg.text}") if msg.type == "error" else None)
            page.on("requestfailed", lambda req: problems.append(f"request failed: {req.url} ({req.failure})"))
            page.on("response", lambda res: problems.append(f"HTTP {res.status}: {res.url}") if res.status >= 400 else None)
            page.on("request", lambda req: None if LOCAL_URL.match(req.url) else problems.append(f"non-local request: {req.url}"))
            expect.set_options(timeout=30_000)
            page.goto(server, timeout=60_000)

            step = page.get_by_role("button", name="Step", exact=True)
            expect(step).to_be_enabled()
            page.get_by_role("button", name="Reset", exact=True).click()
            expect(page.get_by_text("Time: 0.0", exact=True)).to_be_visible()

            views = page.locator(".tierlab-view")
            for title in CHARTS:
                view = views.filter(has=page.get_by_text(title, exact=True))
                expect(view).to_have_count(1)
                expect(view.locator(".vega-embed svg").first).to_be_visible()
            for title in TABLES:
                view = views.filter(has=page.get_by_text(title, exact=True))
                expect(view).to_have_count(1)
                expect(view.locator("table")).to_be_visible()
            price = views.filter(has=page.get_by_text(CHARTS[0], exact=True)).locator(".vega-embed svg").first
            wait_until(lambda: "path" in price.inner_html(), "the price chart to draw its lines")
            drawn = price.inner_html()

            for n in range(1, 4):
                step.click()
                expect(page.get_by_text(f"Time: {n}.0", exact=True)).to_be_visible()
            wait_until(lambda: price.inner_html() != drawn, "the price chart to take in the steps")
            stepped = price.inner_html()

            page.get_by_role("button", name="▶", exact=True).click()
            wait_until(lambda: steps_shown(page) >= 20, "Play to run 17 more steps", 60)
            page.get_by_role("button", name="❚❚", exact=True).click()
            expect(step).to_be_enabled()
            wait_until(lambda: price.inner_html() != stepped, "the price chart to move on while playing")
            assert steps_shown(page) >= 20

            page.locator(".v-select").filter(has_text="Schedule").click()
            page.locator(".v-menu__content .v-list-item").filter(has_text=re.compile(r"^\s*steep\s*$")).click()
            expect(page.locator(".v-select").filter(has_text="Schedule")).to_contain_text("steep")
            shock = page.locator(".v-input").filter(has=page.locator("label", has_text=re.compile(r"^Shock at step$")))
            slider = shock.get_by_role("slider")
            slider.focus()
            slider.press("Home")
            for _ in range(3):
                slider.press("ArrowRight")
            expect(slider).to_have_attribute("aria-valuenow", "30")

            page.get_by_role("button", name="Reset", exact=True).click()
            expect(page.get_by_text("Time: 0.0", exact=True)).to_be_visible()
            settings = views.filter(has=page.get_by_text("This run", exact=True)).locator("table")
            expect(settings).to_contain_text("steep")
            expect(settings).to_contain_text("at step 30 ")
            expect(views.filter(has=page.get_by_text(CHARTS[5], exact=True))).to_contain_text("schedule steep ·")

            page.get_by_role("button", name="▶", exact=True).click()
            wait_until(lambda: steps_shown(page) >= 60, "Play to run past the shock at step 30", 60)
            page.get_by_role("button", name="❚❚", exact=True).click()
            expect(step).to_be_enabled()
            page.wait_for_timeout(500)
            ARTIFACT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACT), full_page=True)
            if os.environ.get("TIERLAB_DOCS_SCREENSHOT") == "1":
                README_SHOT.parent.mkdir(exist_ok=True)
                shutil.copyfile(ARTIFACT, README_SHOT)
        finally:
            browser.close()
    assert problems == []
