"""The Robustness page in a real headless Chromium, as a person uses it: the answer on the first screen, a baseline
picked (the answer follows it), and the images a corruption breaks drawn in pairs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dashboard_server import CHROMIUM, choose_option, launch_chromium, open_page, running_dashboard, wait_for_images
from fake_runs import write_corruption_store

pytestmark = pytest.mark.slow  # a dashboard server and a real browser
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402


def test_the_answer_follows_the_baseline_picked(tmp_path):
    store = write_corruption_store(tmp_path / "store")
    with running_dashboard(store) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            open_page(page, url, "robustness", "Robustness")
            expect(page.locator('[data-testid="stException"]')).to_have_count(0)
            # The answer, on the first screen (fake_runs.CORRUPTION_RUNS; worked out in test_pages_robustness).
            answer = page.get_by_text(re.compile("^steady holds up best under corruption"))
            expect(answer).to_contain_text("mCE 40.0, relative mCE 30.0, against base")
            expect(answer).to_be_in_viewport()
            expect(page.get_by_text(re.compile("^No mCE for runs without all 75 units: partial"))).to_be_visible()

            choose_option(page, page.get_by_role("combobox", name="Baseline"), "sharp")
            expect(answer).to_contain_text("mCE 64.0, relative mCE 24.0, against sharp")
            # The pairs of the best clean run under gaussian noise at 5 (sharp: right clean on all ten, on 5 of them
            # corrupted), a picture each.
            expect(page.get_by_text(re.compile("Under gaussian noise at severity 5 it gets 5 of them wrong"))
                   ).to_be_visible()
            assert wait_for_images(page) == 5
        finally:
            browser.close()
