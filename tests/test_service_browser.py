"""The page at `/` in a real browser: Debian's Chromium, driven by Playwright, against the service on loopback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright
from test_service import REAL_CLIP, make_clips

from conftest import sample_data
from provenance.service.process import ServiceProcess

CHROMIUM = "/usr/bin/chromium"  # Debian's package (`make chromium`); Playwright never downloads a browser here
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT_DIR_ENV = "PROVENANCE_SCREENSHOT_DIR"  # set: the screenshots are copied there too (docs/img)
READ_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def service(home: Path) -> ServiceProcess:
    with ServiceProcess("--home", home, "--trust-anchors", home / "ca.pem") as process:
        yield process


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


def verify_on_the_page(browser, service: ServiceProcess, clip: Path, screenshot: Path) -> Page:
    """Open the page, pick `clip`, wait for the result page; every request the page makes must stay on loopback."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(service.url)
    page.set_input_files("#file", str(clip))
    page.wait_for_url("**/jobs/*", timeout=READ_TIMEOUT_MS)
    page.wait_for_selector("#verdict")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshot), full_page=True)
    if os.environ.get(SCREENSHOT_DIR_ENV):
        shutil.copy(screenshot, Path(os.environ[SCREENSHOT_DIR_ENV]) / screenshot.name)
    assert requested and all(url.startswith(service.url) for url in requested), requested
    return page


def test_reencoded_clip_shows_ai_generated_and_its_signer(browser, service, home: Path, tmp_path: Path) -> None:
    clips = make_clips(home, tmp_path)
    page = verify_on_the_page(browser, service, clips["reencoded"], tmp_path / "page-reencoded.png")
    assert page.get_attribute("#verdict", "data-verdict") == "ai-generated"
    assert "AI-generated" in page.inner_text("#verdict")
    assert "Provenance content signing" in page.inner_text("#signer")
    assert page.get_attribute("#trust", "data-trust") == "own"
    trust = page.inner_text("#trust")
    assert trust.startswith("signed by ") and trust.endswith(", under your trust anchors")
    assert page.get_attribute("#other-marks li", "data-issuer") == "Stability AI"
    assert "not found in" in page.inner_text("#other-marks li")
    assert page.inner_text("#generator") == "video-model-7"
    assert page.inner_text("#recovered") == "yes" and "ledger" in page.inner_text("#manifest-source")
    assert page.inner_text("#watermark-state") == "present"
    assert "created by video-model-7" in page.inner_text("#actions")
    assert "still.png" in page.inner_text("#ingredients")
    assert page.evaluate("document.querySelector('#ingredients img').naturalWidth") > 0
    assert page.evaluate("document.getElementById('thumbnail').naturalWidth") > 0
    raw = page.get_attribute("#raw", "href")
    assert page.request.get(service.url + raw).json()["report"]["verdict"] == "ai-generated"
    assert (tmp_path / "page-reencoded.png").stat().st_size > 10_000


def test_real_clip_shows_no_evidence(browser, service, tmp_path: Path) -> None:
    page = verify_on_the_page(browser, service, sample_data(REAL_CLIP), tmp_path / "page-real.png")
    assert page.get_attribute("#verdict", "data-verdict") == "no-evidence"
    assert page.inner_text("#no-manifest").startswith("No Content Credential")
    assert page.inner_text("#recovered") == "no"
