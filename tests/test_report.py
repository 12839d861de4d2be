"""The shareable report: one HTML file with plotly.js inline once, every run and its scores, that opens in a real
browser with no network request and no console error; its command line, and the dashboard's button."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard import report
from dashboard.lib import head_to_head
from dashboard_server import CHROMIUM, launch_chromium
from trainers import run_store

PLOTLY_BUNDLE = "* plotly.js v"  # the licence header that opens the library's bundle
FIGURE = 'class="plotly-graph-div"'  # the container of one figure


@pytest.fixture(scope="module")
def runs(tiny_store):
    runs, _ = run_store.list_runs(tiny_store)
    return runs


@pytest.fixture(scope="module")
def two_run_report(runs) -> str:
    return report.report_html(runs)


def test_the_report_holds_plotly_once_every_run_and_its_test_accuracy(runs, two_run_report):
    assert len(runs) == 2
    assert two_run_report.count(PLOTLY_BUNDLE) == 1
    assert two_run_report.count(FIGURE) == 2 + len(runs) + 2  # curves, confusions, difference, reliability
    for run in runs:
        assert run.label in two_run_report
        assert f"{run.metrics['accuracy']:.4f}" in two_run_report  # the comparison table, as formatted on Home


def test_two_runs_get_the_head_to_head_sentence(runs, two_run_report):
    first, second = head_to_head.aligned_predictions(*runs)
    sentence = head_to_head.mcnemar_sentence(head_to_head.disagreement(first, second))
    assert sentence in two_run_report
    assert "Head to head" in two_run_report


def test_one_run_gets_no_head_to_head(runs):
    page = report.report_html(runs[:1])
    assert page.count(PLOTLY_BUNDLE) == 1
    assert "Head to head" not in page
    assert runs[1].label not in page


def test_text_from_a_run_is_escaped(runs, monkeypatch):
    run = runs[0]
    monkeypatch.setitem(run.info, "comment", "<script>alert(1)</script>")
    page = report.report_html([run])
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_no_runs_is_refused():
    with pytest.raises(ValueError, match="at least one run"):
        report.report_html([])


def test_the_command_line_writes_the_report(runs, tmp_path, capsys):
    output = tmp_path / "shared.html"
    assert report.main([str(run.path) for run in runs] + ["-o", str(output)]) == 0
    page = output.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count(PLOTLY_BUNDLE) == 1
    assert all(run.label in page for run in runs)
    assert str(output) in capsys.readouterr().out


def test_the_command_line_refuses_a_missing_run_in_one_line(runs, tmp_path, capsys):
    output = tmp_path / "shared.html"
    assert report.main([str(runs[0].path), str(tmp_path / "nowhere"), "-o", str(output)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "nowhere" in error and error.count("\n") == 1
    assert not output.exists()


def test_the_sidebar_offers_the_report(tiny_store, open_app):
    app = open_app(tiny_store)
    assert [button.label for button in app.sidebar.get("download_button")] == ["Download report"]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")
def test_the_report_opens_offline_in_a_real_browser(two_run_report, tmp_path):
    from playwright.sync_api import sync_playwright

    file = tmp_path / "report.html"
    file.write_text(two_run_report, encoding="utf-8")
    requests, errors = [], []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(file.as_uri())
            # Every figure drawn: plotly marks each container it has drawn in.
            figures = two_run_report.count(FIGURE)
            page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length === {figures}",
                                   timeout=30_000)
            page.wait_for_timeout(500)  # a late error would still reach the console
        finally:
            browser.close()
    assert requests == [file.as_uri()]
    assert errors == []
