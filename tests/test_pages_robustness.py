"""The Robustness page under Streamlit's AppTest, on hand-made runs of known accuracy under each corruption: the answer
and the table worked out by hand, the baseline picked, the runs without all 75 units named with the command that adds
them, the images a corruption breaks; and the report's table."""

from __future__ import annotations

import pandas as pd
import pytest

from app_pages import figures, widget
from dashboard.lib import report, robustness
from fake_runs import write_corruption_store
from trainers.store import run_store

PAGE = "views/robustness.py"


@pytest.fixture
def store(tmp_path):
    """Ten images (fake_runs.CORRUPTION_RUNS). Clean accuracy, and accuracy under corruption (errors: 1 minus it):
    sharp   1.0 clean, 0.5 under every corruption
    steady  0.8 clean (wrong on images 0 and 1), 0.4 under gaussian noise, 0.7 under the other 14
    base    0.6 clean, 0.2 under every corruption: the least accurate clean, the baseline to start with
    partial 1.0 clean, gaussian noise at severities 1 and 2 only; bare, no unit."""
    return write_corruption_store(tmp_path / "store")


def summary(app):
    return next(frame.value for frame in app.dataframe if "mCE" in frame.value).set_index("run")


def test_the_answer_and_the_table_against_the_least_accurate_run(open_app, store):
    app = open_app(store, PAGE)
    assert widget(app.selectbox, "Baseline").value == "base"
    assert widget(app.selectbox, "Baseline").options == ["sharp", "steady", "base"]
    # Against base's errors, 0.8 at every unit (clean 0.4): sharp's CE is 0.5 / 0.8 on each corruption, relative
    # (0.5 - 0) / (0.8 - 0.4). steady's: 0.6 / 0.8 under gaussian noise and 0.3 / 0.8 under the other 14, so
    # mCE = (0.75 + 14 x 0.375) / 15 = 40%; relative (0.4 / 0.4 + 14 x 0.1 / 0.4) / 15 = 30%.
    assert app.markdown[0].value == (
        "**steady** holds up best under corruption: mCE **40.0**, relative mCE 30.0, against base. **The ranking "
        "changes**: on clean images sharp is the most accurate. By mCE rather than clean accuracy, sharp falls from "
        "1st to 2nd; steady rises from 2nd to 1st.")
    table = summary(app)  # the lowest mCE first
    expected = pd.DataFrame({
        "mCE": [40.0, 62.5, 100.0], "relative mCE": [30.0, 125.0, 100.0], "clean accuracy": [0.8, 1.0, 0.6],
        "corrupted accuracy": [(5 * 0.4 + 70 * 0.7) / 75, 0.5, 0.2], "rank clean": [2, 1, 3],
        "rank mCE": [1, 2, 3]}, index=pd.Index(["steady", "sharp", "base"], name="run"))
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    lines = {trace.name: trace for trace in figures(app)[0].data if trace.showlegend}
    assert list(lines) == ["sharp", "steady", "base", "partial"]
    # The first panel, the mean of the 15 corruptions: clean, then (0.4 + 14 x 0.7) / 15 at each severity.
    assert list(lines["steady"].y) == pytest.approx([0.8] + [0.68] * 5)


def test_another_baseline(open_app, store):
    app = widget(open_app(store, PAGE).selectbox, "Baseline").set_value("sharp").run()
    # Against sharp's errors, 0.5 everywhere (clean 0): steady (0.6 / 0.5 + 14 x 0.3 / 0.5) / 15 = 64%, relative
    # (0.4 / 0.5 + 14 x 0.1 / 0.5) / 15 = 24%; base 0.8 / 0.5 = 160%, relative 0.4 / 0.5 = 80%.
    assert app.markdown[0].value.startswith("**steady** holds up best under corruption: mCE **64.0**, relative mCE "
                                            "24.0, against sharp.")
    table = summary(app)
    assert table["mCE"].to_dict() == pytest.approx({"steady": 64.0, "sharp": 100.0, "base": 160.0})
    assert table["relative mCE"].to_dict() == pytest.approx({"steady": 24.0, "sharp": 100.0, "base": 80.0})


def test_runs_without_every_unit_are_named_with_the_command(open_app, store):
    app = open_app(store, PAGE)
    note = next(info.value for info in app.info if "units" in info.value)
    assert note.startswith("No mCE for runs without all 75 units: partial (2 of 75), bare (none). Add them with "
                           "`python -m trainers.evaluate ")
    assert f"{store / 'partial'} {store / 'bare'} --corruptions` (it goes on where it stopped)." in note


def test_without_any_unit_the_page_says_how_to_get_them(open_app, store):
    app = open_app(store, PAGE)
    app.sidebar.multiselect[0].set_value(["bare"]).run()
    assert app.info[0].value.startswith("None of the selected runs has been evaluated on corrupted images yet.")
    assert app.code[0].value == f"python -m trainers.evaluate {store / 'bare'} --corruptions"
    assert not app.dataframe and not app.exception


def test_the_images_a_corruption_breaks(open_app, store):
    app = widget(open_app(store, PAGE).selectbox, "Run").set_value("steady").run()
    assert widget(app.selectbox, "Corruption").value == "gaussian_noise"
    # Under gaussian noise at 5 steady is right on images 0-3; clean, on 2-9: 4-9 broken, 0 and 1 mended. Under snow
    # (0.7) right on 0-6: 7-9 broken.
    said = next(text.value for text in app.markdown if text.value.startswith("steady gets"))
    assert said == ("steady gets 8 of the 10 images right clean. Under gaussian noise at severity 5 it gets **6** of "
                    "them wrong, and 2 it got wrong clean right.")
    assert len(app.get("image")) == 6
    cards = [text.value for text in app.markdown if text.value.startswith("true")]
    assert cards[0] == "true **dog** → **owl** (80%)"  # image 4, a dog, called the next class
    app = widget(app.selectbox, "Corruption").set_value("snow").run()
    said = next(text.value for text in app.markdown if text.value.startswith("steady gets"))
    assert "Under snow at severity 5 it gets **3** of them wrong, and 2 it got wrong clean right." in said
    assert not app.exception


def test_the_report_has_the_table(store):
    runs = run_store.load_runs([store / name for name in ("sharp", "steady", "base", "bare")])
    page = report.report_html(runs)
    assert "Robustness to common corruptions" in page
    assert "<b>steady</b> holds up best under corruption: mCE <b>40.0</b>" in page
    assert "No mCE for runs without all 75 units: bare (none)." in page
    section = page[page.index("Robustness to common corruptions"):]
    assert ">62.5<" in section and ">125.0<" in section
    assert "Robustness" not in report.report_html(runs[-1:])


def test_the_answer_when_the_baseline_holds_up_best_or_the_best_loses_more_than_it():
    table = pd.DataFrame({"run": ["a", "b", "c"], "mCE": [100.0, 112.5, 130.0], "relative mCE": [100.0, 90.0, 140.0],
                          "rank clean": [1, 2, 3], "rank mCE": [1, 2, 3]})
    assert robustness.answer(table, "a") == (
        "**a**, the baseline, holds up best under corruption: the next lowest mCE is **112.5** (b). It is also the "
        "most accurate on clean images: the ranking by mCE is the ranking by clean accuracy.")
    assert robustness.answer(table.iloc[1:], "c").startswith(
        "**b** holds up best under corruption: mCE **112.5**, relative mCE 90.0, against c. It is also")
    table.loc[1, "relative mCE"] = 124.0
    assert robustness.answer(table.iloc[1:], "c").startswith(
        "**b** holds up best under corruption: mCE **112.5**, relative mCE 124.0, against c. Its relative mCE above "
        "100 says corruption costs it more than it costs c: it stays ahead by being more accurate clean. It is also")
