"""The answer first, in a real headless Chromium at 1440x900 on a store of runs with constructed predictions: Home's
first screen names the best run, its lead and interval; Head to head opens on the best and the runner-up; a run has
one colour on Training curves, Home, Calibration and in the report the sidebar downloads (read from the figures'
data); a confusion cell shows its images with Open, and its link carries run and cell to Misclassified."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dashboard.lib import figures
from dashboard_server import CHROMIUM, launch_chromium, open_page, running_dashboard, wait_until_idle
from fake_runs import OUTCOME_WRONG
from trainers.store import run_store

pytestmark = pytest.mark.slow  # a dashboard server and a real browser
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from test_report import report_figures  # noqa: E402

VIEWPORT = {"width": 1440, "height": 900}
WRONG = OUTCOME_WRONG  # "best" is best, "close" the runner-up within noise of it
# The traces that name a run: its name, or its name and what the trace is of ("best, train").
PLOT_COLOURS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(plot => (plot.data || [])
    .map(trace => [trace.name || '', (trace.line && trace.line.color) || (trace.marker && trace.marker.color) || '']))"""


def page_colours(page) -> list[tuple[str, str]]:
    """Each drawn trace's name and colour, once every chart of the page is drawn."""
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length > 0 && Array.from("
                           "document.querySelectorAll('.js-plotly-plot')).every(plot => plot.data)")
    return page.evaluate(PLOT_COLOURS)


def run_colours_drawn(traces, runs: list[str]) -> dict[str, set[str]]:
    """The colours each run's traces are drawn in, by run (a trace named "run" or "run, something")."""
    drawn: dict[str, set[str]] = {}
    for name, colour in traces:
        run = name.split(",")[0]
        if run in runs and isinstance(colour, str):
            drawn.setdefault(run, set()).add(colour.lower())
    return drawn


def test_the_answer_on_the_first_screen_the_best_pair_and_one_colour_per_run(outcome_store, tmp_path):
    runs = list(WRONG)
    expected = {run: {colour.lower()} for run, colour in figures.run_colours(run_store.list_runs(outcome_store)[0]).items()}
    assert len({colour for colours in expected.values() for colour in colours}) == 3
    with running_dashboard(outcome_store) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
            open_page(page, url, "", "Run comparison")
            answer = page.get_by_text(re.compile("is best on test accuracy"))
            expect(answer).to_be_visible()
            box = answer.bounding_box()
            assert box["y"] + box["height"] <= VIEWPORT["height"]  # on the first screen, unscrolled
            text = answer.inner_text()
            assert re.search(r"best is best on test accuracy: 0\.9000 \(95% interval 0\.\d{4} – 0\.\d{4}\), "
                             r"2\.50 points ahead of close \(95% interval of the lead [+-]\d+\.\d\d to \+\d+\.\d\d\)",
                             text), text
            assert "Within noise" in text and "McNemar's p" in text
            assert run_colours_drawn(page_colours(page), runs) == expected  # accuracy against parameters

            open_page(page, url, "training_curves", "Training curves")
            assert run_colours_drawn(page_colours(page), runs) == expected
            open_page(page, url, "calibration", "Calibration")
            assert run_colours_drawn(page_colours(page), runs) == expected

            open_page(page, url, "head_to_head", "Head to head")
            expect(page.get_by_role("combobox", name="A", exact=True)).to_have_value("best")
            expect(page.get_by_role("combobox", name="B", exact=True)).to_have_value("close")

            with page.expect_download() as download:
                page.get_by_test_id("stSidebar").get_by_role("button", name="Download report").click()
            report = (tmp_path / "report.html")
            download.value.save_as(report)
            wait_until_idle(page)
            drawn = [(trace.get("name", ""), (trace.get("line") or {}).get("color") or
                      (trace.get("marker") or {}).get("color")) for figure in report_figures(report.read_text())
                     for trace in figure["data"]]
            assert run_colours_drawn(drawn, runs) == expected
        finally:
            browser.close()


def test_a_confusion_cell_shows_its_images_and_its_link_carries_run_and_cell(outcome_store):
    with running_dashboard(outcome_store) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            open_page(page, url, "confusion_matrices", "Confusion matrices")
            # "best" gets images 0 and 3 (cats) wrong as dogs: its most confused cell, shown first.
            expect(page.get_by_text("2 test images of class cat predicted as dog by best")).to_be_visible()
            # A card's Open, not a selectbox's (whose arrow is a button named Open too).
            expect(page.get_by_test_id("stButton").filter(has_text="Open")).to_have_count(2)
            page.get_by_test_id("stButton").filter(has_text="Open").first.click()
            dialog = page.get_by_role("dialog")
            # Image 0, a cat: "best" calls it a dog, "close" and "weak" get it right.
            expect(dialog).to_contain_text("true class cat: 2 of 3 selected runs get it right")
            expect(page.get_by_test_id("stException")).to_have_count(0)
            page.keyboard.press("Escape")
            page.get_by_role("link", name="See all 2 on the Misclassified samples page").click()
            page.get_by_role("heading", name="Misclassified samples").wait_for()
            wait_until_idle(page)
            expect(page.get_by_role("combobox", name="Run", exact=True)).to_have_value("best")
            expect(page.get_by_role("combobox", name="True class", exact=True)).to_have_value("cat")
            expect(page.get_by_role("combobox", name="Predicted class", exact=True)).to_have_value("dog")
            expect(page.get_by_text("best got 4 of 40 test images wrong; 2 match the filters.")).to_be_visible()
            assert re.search(r"[?&]run=best.*&true=cat.*&predicted=dog", page.url), page.url
            page.reload()  # the URL alone, in a new session, opens the same view
            page.get_by_role("heading", name="Misclassified samples").wait_for()
            wait_until_idle(page)
            expect(page.get_by_text("best got 4 of 40 test images wrong; 2 match the filters.")).to_be_visible()
        finally:
            browser.close()
