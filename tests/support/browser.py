"""Debian's headless Chromium driven by Playwright, for the dashboard's tests: the browser,
a tab on the API's /ui that fails the test on any console error, and screenshots kept as
artefacts."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Screenshots the tests write, for a person to look at (CI keeps the folder as an artefact).
ARTIFACTS = Path(os.environ.get("DCOPROVER_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts"))


def chromium_path() -> str | None:
    return os.environ.get("DCOPROVER_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per module: the system's, never a downloaded one. Not one per
    session: Playwright's sync API keeps an event loop running in this thread while it is
    open, and every async test run after it would fail ("cannot be called from a running
    event loop")."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium on PATH: apt-get install chromium")
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: CI and containers run as root, where Chromium's sandbox cannot start.
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, api) -> Iterator:
    """A fresh tab on the API's /ui; console errors and failed requests fail the test (one that
    expects a refusal removes it from ``tab.problems``)."""
    context = browser.new_context(base_url=str(api.base_url), viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    tab.on("response", lambda r: problems.append(f"{r.status} from {r.url}") if r.status >= 400 else None)
    tab.problems = problems
    yield tab
    context.close()
    assert not problems, problems


def screenshot(tab, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path
