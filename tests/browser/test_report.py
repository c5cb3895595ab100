"""The certify HTML report of a real failing run, opened in headless chromium: its failures in the first screenful."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.reports import render_html

from ..conformance.conftest import certify
from .conftest import screenshot

By = pytest.importorskip("selenium.webdriver.common.by", reason="pip install selenium").By

VIEWPORT = (1280, 800)  # a laptop's browser window


@pytest.fixture(scope="module")
def failing_report():
    # The negative control drops every stream's third chunk: stream/integrity/agent fails, the others pass.
    return certify("noisy_dropping_driver", "2.6.2", ["stream/first-chunk/agent", "stream/integrity/agent"])


def test_a_failing_report_names_its_failure_in_the_first_screenful(browser, failing_report, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(failing_report))
    browser.set_window_size(*VIEWPORT)
    browser.get(page.as_uri())
    height = browser.execute_script("return window.innerHeight")

    def on_first_screen(element) -> bool:
        return element.is_displayed() and element.rect["y"] + element.rect["height"] <= height

    banner = browser.find_element(By.ID, "verdict")
    assert banner.text.splitlines()[0] == "FAILED: 1 required failure(s)" and on_first_screen(banner)
    # Red, as a CI user expects a failure to look.
    assert banner.value_of_css_property("background-color") == "rgba(198, 40, 40, 1)"
    failure = browser.find_element(By.CSS_SELECTOR, "ol.failures li")
    assert on_first_screen(failure)
    assert "stream/integrity/agent" in failure.text
    assert "chunk 2 ('Bob, ') was never yielded (5 of 6 chunks)" in failure.text
    # Its details open on a click: that case's own stderr and the frame the client never saw.
    browser.find_element(By.CSS_SELECTOR, "#failure-0 summary").click()
    details = browser.find_element(By.ID, "failure-0")
    assert "noisy: starting run" in details.find_element(By.TAG_NAME, "pre").text
    screenshot(browser, tmp_path / "report-failing.png")
