"""The Snakemake HTML report opens in headless Chromium without console errors.

Needs Debian's chromium and chromium-driver (installed by `make test`). A screenshot of the
report is kept in test-artifacts/ for a human to look at.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from pipeline import ROOT, snakemake

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CATEGORIES = ["Data quality", "Safety", "PD", "PK", "PK/PD model", "Provenance", "Study population", "Efficacy",
              "Published vs reproduced"]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def report(reference_run) -> Path:
    path = reference_run["base"] / "report.html"
    snakemake("--cores", "1", "--report", str(path), results=reference_run["results"], raw=reference_run["raw"])
    return path


@pytest.fixture(scope="module")
def browser():
    chromium, driver_bin = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_bin:
        pytest.fail("headless Chromium is needed: apt-get install chromium chromium-driver (make test does it)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1600,1100"]:
        opts.add_argument(arg)
    opts.binary_location = chromium
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(driver_bin), options=opts)
    yield drv
    drv.quit()


def _wait_for_text(drv, text: str, timeout: float = 20) -> str:
    deadline = time.time() + timeout
    body = ""
    while time.time() < deadline:
        body = drv.find_element("tag name", "body").text
        if text in body:
            return body
        time.sleep(0.2)
    return body


def test_report_renders_with_sections_and_a_figure(report, browser):
    browser.get(report.as_uri())
    body = _wait_for_text(browser, "Provenance")
    for cat in CATEGORIES:
        assert cat in body, f"category {cat!r} missing from the report menu"
    assert "System Message" not in body, "a caption has reStructuredText errors"
    # open the PD category and one of its figures
    browser.find_element("xpath", "//*[normalize-space(text())='PD']").click()
    _wait_for_text(browser, "Figures")
    browser.find_element("xpath", "//*[normalize-space(text())='Figures']").click()
    body = _wait_for_text(browser, "igg_pct_baseline.png")
    assert "igg_pct_baseline.png" in body
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "report_pd.png"))
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"console errors: {errors}"


def test_report_embeds_every_figure_and_table(report):
    html = report.read_text(encoding="utf-8", errors="replace")
    for name in ["igg_pct_baseline.png", "ae_swimmer.png", "pk_conc_time.png", "disposition_flow.png",
                 "teae_overview.html", "published_vs_reproduced.html", "provenance.html", "report.html",
                 "vpc_igg.png", "gof_pk.png", "regimen_simulation.png", "pkpd_parameters.html"]:
        assert name in html, name
