"""New images in a real headless Chromium, as a person uses them: "Evaluated on" picked in the sidebar, kept while
they move through the pages by the navigation (a page that scores nothing hides it), and a label given to an image of
an unlabelled set on New images, which then scores it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dashboard_server import CHROMIUM, choose_option, launch_chromium, open_page, running_dashboard, wait_until_idle
from fake_runs import write_store_with_sets

pytestmark = pytest.mark.slow  # a dashboard server and a real browser
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

VIEWPORT = {"width": 1440, "height": 900}


def pick(page, label: str, option: str) -> None:
    """Picks `option` in the sidebar's selectbox `label`, as a person does, and waits for the page to answer."""
    page.get_by_test_id("stSidebar").get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option).click()
    wait_until_idle(page)


def go_to(page, title: str, heading: str) -> None:
    """Follows the sidebar's navigation link to a page (the browser session, and its choices, stay)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    page.get_by_role("heading", name=heading).first.wait_for()
    wait_until_idle(page)


def test_the_images_chosen_are_kept_from_page_to_page_and_a_label_scores_an_image(tmp_path):
    store = write_store_with_sets(tmp_path / "store")
    with running_dashboard(store) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            open_page(page, url, "", "Run comparison")
            expect(page.get_by_text(re.compile("best is best on test accuracy"))).to_be_visible()
            pick(page, "Evaluated on", "photos (12 images, labelled)")
            expect(page.get_by_text(re.compile("best is best on accuracy on photos: 0.8889"))).to_be_visible()
            assert "set=photos" in page.url

            go_to(page, "Training curves", "Training curves")  # scores nothing: no choice of images here
            expect(page.get_by_test_id("stSidebar").get_by_role("combobox", name="Evaluated on")).to_have_count(0)
            go_to(page, "Misclassified samples", "Misclassified samples")
            expect(page.get_by_test_id("stSidebar").get_by_role("combobox", name="Evaluated on")).to_have_value(
                "photos (12 images, labelled)")
            expect(page.get_by_text(re.compile("got 1 of 9 images of photos wrong"))).to_be_visible()

            go_to(page, "New images", "New images")
            pick(page, "Evaluated on", "unsorted (5 images, unlabelled)")
            name = page.get_by_role("textbox", name="Your name (kept with each verdict)")
            name.fill("Ada")
            name.press("Enter")
            expect(page.get_by_text(re.compile("Type your name above"))).to_have_count(0)
            wait_until_idle(page)
            pickers = page.get_by_role("combobox", name="It is")
            expect(pickers.first).to_be_visible()
            # The most disagreed image comes first: 03.png, where weak picks owl, best cat and close dog
            # (fake_runs.UNSORTED_PICKS).
            expect(page.get_by_text("03.png").first).to_be_visible()
            choose_option(page, pickers.first, "dog")
            label_it = page.get_by_role("button", name="Label it")
            expect(label_it).to_have_count(1)  # only the card given a class offers it
            label_it.click()
            # Labelled, it leaves the images without a label; all of them show it with its label.
            expect(page.get_by_text("03.png")).to_have_count(0)
            page.get_by_text("Only images without a label").click()
            expect(page.get_by_text(re.compile("labelled dog by Ada"))).to_be_visible()

            go_to(page, "Home", "Run comparison")
            # One image of a class is too few to rank on: Home says so, and where to label more.
            expect(page.get_by_text(re.compile("1 image of unsorted shows one of the runs' classes: too few to rank "
                                               "the runs on"))).to_be_visible()
        finally:
            browser.close()
