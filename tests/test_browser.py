"""End to end in a real headless Chromium: every page opens, a clicked confusion cell shows its images, a box dragged
on the test-set map shows the images inside it, and an uploaded image (a PNG, an iPhone's HEIC) gets each model's
prediction and, on request, a crop box; a team filters by author, a run from arrays says it has no map, and two
browsers review labels at once, losing no verdict."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from colour_images import COLOURS, colour_image
from dashboard.lib import live, samples
from dashboard_server import (CHROMIUM, PAGES, launch_chromium, open_page, running_dashboard, select_on_map, upload,
                              wait_for_images, wait_until_idle)
from trainers.store import run_store
from upload_files import HEIC
from trainers.inference.pixels import image_to_pixels

pytestmark = pytest.mark.slow  # a dashboard server and a real browser
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402
from trainers.inference.predict import load_model


def expected_picks(runs, image) -> dict[str, str]:
    """What each model picks for the image, computed here without the dashboard."""
    picks = {}
    for run in runs:
        pixels = image_to_pixels(image, run.image_size)[None].astype("float32")
        probabilities = load_model(run).predict(pixels, verbose=0)[0]
        picks[run.label] = run.class_names[int(probabilities.argmax())]
    return picks


def first_images_cell(run) -> tuple[str, str, int]:
    """The confusion cell of the run's first test image: true class, predicted class, images in it."""
    predictions = run.predictions
    true, predicted = int(predictions.labels[0]), int(predictions.probabilities[0].argmax())
    count = len(samples.samples_by_class(predictions, run.class_names, true_class=true, predicted_class=predicted))
    return run.class_names[true], run.class_names[predicted], count


def click_confusion_cell(page, run, true_class: str, predicted_class: str) -> None:
    """Clicks the centre of a cell of the second confusion matrix on the page."""
    plot_area = page.locator(".nsewdrag").nth(1).bounding_box()
    size = len(run.class_names)
    column, row = run.class_names.index(predicted_class), run.class_names.index(true_class)
    page.mouse.click(plot_area["x"] + plot_area["width"] * (column + 0.5) / size,
                     plot_area["y"] + plot_area["height"] * (row + 0.5) / size)


def test_every_page_opens_and_the_live_page_predicts_an_upload(tiny_store):
    runs, _ = run_store.list_runs(tiny_store)
    image = colour_image(COLOURS["red"], (40, 30), seed=3)
    picks = expected_picks(runs, image)
    with running_dashboard(tiny_store) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            for name, (path, title) in PAGES.items():
                open_page(page, url, path, title)
                expect(page.locator('[data-testid="stException"]')).to_have_count(0)
                if name == "confusion_matrices":
                    true_class, predicted_class, count = first_images_cell(runs[1])
                    click_confusion_cell(page, runs[1], true_class, predicted_class)  # the right matrix
                    cell = (rf"{count} test images of class {true_class} predicted as {predicted_class} "
                            rf"by {re.escape(runs[1].label)}")
                    expect(page.get_by_text(re.compile(cell))).to_be_visible()
                    wait_until_idle(page)
                    # The cell's thumbnails, a page of 8 cards under the matrices, arrive and decode.
                    assert wait_for_images(page) == min(count, 8)
                if name == "test_map":
                    select_on_map(page, 0.01, 0.01, 0.99, 0.99)  # every point
                    test_images = len(runs[0].predictions.ids)
                    expect(page.get_by_text(re.compile(rf"^{test_images} images selected"))).to_be_visible()
                    assert wait_for_images(page) == test_images  # one page of the gallery holds them all
                if name == "live_predictions":
                    upload(page, "red.png", image)
                    for label, pick in picks.items():
                        # The line above each model's chart (the agreement sentence may also name the model).
                        expect(page.get_by_text(re.compile(rf"^{re.escape(label)} picks {pick} \("))).to_be_visible()
                    expect(page.locator('[data-testid="stProgress"]')).to_have_count(len(runs) * 3)  # top 3 each
                    page.get_by_text("Crop", exact=True).click()
                    # The crop box's component: its frontend, served from the installed package, draws its canvas.
                    cropper = page.frame_locator('iframe[title="streamlit_cropper.st_cropper"]')
                    expect(cropper.locator("canvas").first).to_be_visible(timeout=60_000)
                    wait_until_idle(page)
                    # The tiny models' 16 px view of the default box, a centred square of 80% of the height.
                    default_view = "as the models see it: crop 24 x 24 px of 40 x 30, 16 x 16 px"
                    expect(page.get_by_text(default_view)).to_be_visible()
                    # An iPhone's photo: the browser's type filter used to refuse it with no word said.
                    upload(page, "IMG_0001.HEIC", HEIC, mime_type="image/heic")
                    expect(page.locator('[data-testid="stAlert"]')).to_have_count(0)
                    heic_picks = expected_picks(runs, live.read_image("IMG_0001.HEIC", HEIC).image)
                    for label, pick in heic_picks.items():
                        expect(page.get_by_text(re.compile(rf"^{re.escape(label)} picks {pick} \(")).last).to_be_visible()
                    # Two photos now: a row each in the table, and the newest, the HEIC one, in detail.
                    expect(page.locator('[data-testid="stProgress"]')).to_have_count(len(runs) * 3)
        finally:
            browser.close()


def test_a_team_filters_by_author_and_a_run_from_arrays_says_it_has_no_map(tmp_path):
    import numpy as np

    from fake_runs import CLASSES, write_fake_run
    from trainers.record import FROM_ARRAYS, record_run

    path = record_run("torch-net", labels=[0, 1, 2], probabilities=[[.7, .2, .1], [.1, .8, .1], [.5, .4, .1]],
                      class_names=CLASSES, images=np.zeros((3, 8, 8, 3), np.uint8), author="BO", store=tmp_path,
                      dataset="pets")
    recorded = run_store.load_run(path)
    write_fake_run(tmp_path, "cnn_v3-mine", labels=[0, 1, 2], ids=recorded.predictions.ids,
                   test_key=recorded.test_key)  # by "ada"
    with running_dashboard(tmp_path) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            open_page(page, url, "", "Run comparison")
            expect(page.get_by_text("2 runs on pets (8 px, 3 test images), by 2 authors")).to_be_visible()
            runs = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Runs")
            expect(runs.get_by_role("button", name=re.compile("^Remove "))).to_have_count(2)
            page.get_by_role("button", name="Remove ada").click()  # the sidebar's Authors
            wait_until_idle(page)
            expect(page.get_by_text("1 run on pets (8 px, 3 test images), by BO")).to_be_visible()
            expect(runs.get_by_role("button", name=re.compile("^Remove "))).to_have_count(1)
            expect(runs.get_by_role("button", name="Remove recorded / torch-net")).to_have_count(1)
            page.get_by_role("link", name="Test-set map").click()  # the same session: the filter holds
            page.get_by_role("heading", name="Test-set map").first.wait_for()
            wait_until_idle(page)
            expect(page.get_by_text(f"recorded / torch-net has no test-set map: {FROM_ARRAYS}")).to_be_visible()
        finally:
            browser.close()


def test_two_browsers_review_labels_at_once_and_lose_no_verdict(tmp_path):
    from test_label_issues import _store
    from trainers.store import label_verdicts
    from trainers.store.label_verdicts import AMBIGUOUS, WRONG

    (run,) = _store(tmp_path, "cnn_v3-1")  # ranked first: test/005.png (a dog, suspected cat), then test/002.png
    with running_dashboard(tmp_path) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            ada, bo = (browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in range(2))
            for page in (ada, bo):  # two sessions, open at once
                open_page(page, url, "suspect_labels", "Suspect labels")
            for page, reviewer in ((ada, "ada"), (bo, "bo")):
                # No verdict before a name: the page asks for one, and the cards have no buttons.
                expect(page.get_by_text("Type your name above, then press Enter, to give verdicts")).to_be_visible()
                expect(page.locator('[class*="st-key-verdict-"]')).to_have_count(0)
                name = page.get_by_role("textbox", name="Your name (kept with each verdict)")
                name.fill(reviewer)
                name.press("Enter")
                wait_until_idle(page)
            # Each button says what it records, naming the given class (test/005.png is labelled dog, 002 cat).
            for verdict, text in (("right", "'dog' is right"), ("wrong", "It is a cat"), ("ambiguous", "Unclear")):
                expect(ada.locator(f".st-key-verdict-{verdict}-test-005-png").get_by_role("button")).to_have_text(text)
            corrected = bo.locator(".st-key-corrected-test-002-png").get_by_role("combobox")  # "It is actually"
            corrected.click()
            corrected.press_sequentially("owl")  # type to search, as a reviewer of 1,000 classes would
            bo.get_by_role("option", name="owl", exact=True).click()
            wait_until_idle(bo)
            wrong = bo.locator(".st-key-verdict-wrong-test-002-png").get_by_role("button")
            expect(wrong).to_have_text("It is an owl")  # the class picked, not the one suspected at first
            ada.locator(".st-key-verdict-ambiguous-test-005-png").get_by_role("button").click()
            wrong.click()
            for page in (ada, bo):
                wait_until_idle(page)
            expect(bo.get_by_text("Judged: it is an owl (not 'cat'), by bo")).to_be_visible()
            kept = label_verdicts.read_verdicts(tmp_path, run.test_key)
            assert {image_id: (verdict.verdict, verdict.corrected, verdict.reviewer)
                    for image_id, verdict in kept.items()} == {"test/005.png": (AMBIGUOUS, "", "ada"),
                                                               "test/002.png": (WRONG, "owl", "bo")}
            ada.reload()  # Ada's page, on its next run, shows Bo's verdict too
            ada.get_by_role("heading", name="Suspect labels").first.wait_for()
            wait_until_idle(ada)
            expect(ada.get_by_text("Judged: it is an owl (not 'cat'), by bo")).to_be_visible()
            expect(ada.get_by_text("2 of the first 8 reviewed: 1 label judged wrong (50% of those reviewed), "
                                   "1 ambiguous; 2 reviewed in all.")).to_be_visible()
            bo.locator(".st-key-undo-test-002-png").get_by_role("button").click()  # Bo withdraws his verdict
            wait_until_idle(bo)
            expect(bo.get_by_text("Judged: it is an owl (not 'cat'), by bo")).to_have_count(0)
            assert list(label_verdicts.read_verdicts(tmp_path, run.test_key)) == ["test/005.png"]
        finally:
            browser.close()
