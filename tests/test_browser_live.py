"""The Live page in a real headless Chromium, on two runs whose models answer constant probabilities (`doubtful` a cat
at 0.45, under its threshold of 0.5; `sure` a dog at 0.8): one photo gets each model's answer, and the model that finds
none of its classes says so with its score and threshold; several photos at once make a table of a row each (a
thumbnail, the name, each model's answer), and the photo shown in detail is chosen under it."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from dashboard_server import (CHROMIUM, choose_option, launch_chromium, open_page, running_dashboard, upload,
                              wait_until_idle)
from test_pages_live_predictions import THRESHOLDS_EXPLAINED, UNDER_THE_TABLE, write_constant_store

pytestmark = pytest.mark.slow  # a dashboard server and a real browser
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

NONE_FOUND = "finds none of its classes in this image (score 0.45, threshold 0.50)"


def png(colour: tuple[int, int, int], size=(64, 48)) -> bytes:
    data = io.BytesIO()
    Image.new("RGB", size, colour).save(data, format="PNG")
    return data.getvalue()


def table_cells(page) -> list[str]:
    """The texts of the photos table's cells, row by row, from the accessible grid the browser keeps beside the
    drawn one (Streamlit draws a table's cells on a canvas)."""
    return page.locator('[data-testid="stDataFrame"] [role="gridcell"]').all_inner_texts()


def choose(page, label: str, option: str) -> None:
    """Opens the selectbox `label` and picks `option`, clicking again when a first click only took the focus."""
    choose_option(page, page.get_by_role("combobox", name=label), option)
    page.get_by_role("heading", name=option).wait_for(timeout=60_000)
    wait_until_idle(page)


def test_one_photo_then_several_at_once_in_a_real_browser(tmp_path):
    store = write_constant_store(tmp_path / "store")
    with running_dashboard(store) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            open_page(page, url, "live_predictions", "Live predictions")
            upload(page, "sky.png", png((90, 160, 230)))
            expect(page.get_by_text(re.compile(r"^doubtful picks cat \(45\.0%\)"))).to_be_visible()
            expect(page.get_by_text(re.compile(r"^sure picks dog \(80\.0%\)"))).to_be_visible()
            expect(page.get_by_text(NONE_FOUND)).to_have_count(1)  # under doubtful's pick, not sure's
            expect(page.get_by_text(THRESHOLDS_EXPLAINED)).to_be_visible()

            # Three more at once: the uploader keeps the first, so four photos, a row each.
            names = ["red.png", "green.png", "blue.png"]
            page.locator('input[type="file"]').first.set_input_files([
                {"name": name, "mimeType": "image/png", "buffer": png(colour)}
                for name, colour in zip(names, [(220, 30, 30), (30, 200, 60), (20, 40, 210)])])
            page.get_by_role("heading", name="4 images").wait_for(timeout=60_000)
            wait_until_idle(page)
            cells = table_cells(page)
            for name in ["sky.png", *names]:
                at = cells.index(name)
                assert cells[at - 1].startswith("data:image/jpeg;base64,")  # its thumbnail
                assert cells[at + 1:at + 3] == ["none (cat 45%)", "dog 80%"]  # doubtful's answer, sure's
            expect(page.get_by_text(UNDER_THE_TABLE)).to_be_visible()
            expect(page.get_by_role("heading", name="blue.png")).to_be_visible()  # the newest, in detail
            expect(page.locator('[data-testid="stProgress"]')).to_have_count(2 * 3)  # one photo's bars

            choose(page, "Shown in detail below", "sky.png")
            expect(page.get_by_role("heading", name="blue.png")).to_have_count(0)
            expect(page.get_by_text(NONE_FOUND)).to_have_count(1)
            expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        finally:
            browser.close()
