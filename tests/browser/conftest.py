"""A headless chromium driven by selenium, for tests that assert what a user sees in a page."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import TIMEOUT_FACTOR

try:
    from selenium import webdriver
except ModuleNotFoundError:  # each browser test skips, naming what to install
    webdriver = None

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    if webdriver is None:
        pytest.skip("the browser tests drive chromium through selenium: pip install selenium")
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("the browser tests need chromium: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1100",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(20 * TIMEOUT_FACTOR)
    try:
        yield driver
    finally:
        driver.quit()  # stops chromedriver and the browser it started


def screenshot(browser: Any, path: Path) -> None:
    """Save what the browser shows; MOCKGW_TESTS_SCREENSHOTS=DIR keeps a copy to look at after the run."""
    assert browser.save_screenshot(str(path))
    keep = os.environ.get("MOCKGW_TESTS_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
