"""The shareable report: one HTML file with plotly.js inline once, every run and its scores, that opens in a real
browser with no network request and no console error; its command line, and the dashboard's button."""

from __future__ import annotations

import base64
import io
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from dashboard import report
from dashboard.lib import report as report_builder
from dashboard.lib import head_to_head
from dashboard_server import CHROMIUM, launch_chromium
from fake_runs import CAT, DOG, OWL, answer_probabilities, write_fake_run
from trainers.store import run_store
from trainers.analysis.ensemble import Ensemble

PLOTLY_BUNDLE = "* plotly.js v"  # the licence header that opens the library's bundle
FIGURE = 'class="plotly-graph-div"'  # the container of one figure
PNG_URI = "data:image/png;base64,"

PET_KEY = "pets-8px-0000"
# Sixteen 8 px images: true class, then alpha's answer and its confidence in it. Alpha gets i0 and i1 right and
# the other fourteen wrong; beta (below) differs from it on i0, i5 and i10.
PETS = [(CAT, CAT, 0.90), (DOG, DOG, 0.95), (OWL, CAT, 0.50), (CAT, DOG, 0.62), (DOG, OWL, 0.44), (OWL, CAT, 0.71),
        (CAT, DOG, 0.58), (DOG, OWL, 0.66), (OWL, CAT, 0.47), (CAT, DOG, 0.53), (DOG, OWL, 0.69), (OWL, CAT, 0.41),
        (CAT, DOG, 0.60), (DOG, OWL, 0.56), (OWL, CAT, 0.64), (CAT, DOG, 0.45)]
PET_IDS = [f"test/i{i}.png" for i in range(len(PETS))]
PET_LABELS = [true for true, _, _ in PETS]
# Alpha's twelve most confident mistakes, by hand: .71 .69 .66 .64 .62 .60 .58 .56 .53 .50 .47 .45 (not i4, i11).
ALPHA_MISTAKES = [5, 10, 7, 14, 3, 12, 6, 13, 9, 2, 8, 15]
BETA_CHANGES = {0: (DOG, 0.61), 5: (OWL, 0.8), 10: (DOG, 0.7)}  # beta wrong on i0, right on i5 and i10
ALPHA = [(answer, confidence) for _, answer, confidence in PETS]
BETA = [BETA_CHANGES.get(i, answer) for i, answer in enumerate(ALPHA)]


def pet_pixels() -> np.ndarray:
    """A different 8x8 pattern for every image, so an embedded image tells which one it is."""
    return np.random.default_rng(0).integers(0, 256, (len(PETS), 8, 8, 3), dtype=np.uint8)


@pytest.fixture
def pets_store(tmp_path) -> Path:
    """Runs alpha, beta and gamma (alpha's answers, stored in reverse order) of the sixteen images, and the images."""
    write_fake_run(tmp_path, "alpha", labels=PET_LABELS, ids=PET_IDS, probabilities=answer_probabilities(ALPHA),
                   test_key=PET_KEY)
    write_fake_run(tmp_path, "beta", labels=PET_LABELS, ids=PET_IDS, probabilities=answer_probabilities(BETA),
                   test_key=PET_KEY)
    write_fake_run(tmp_path, "gamma", labels=PET_LABELS[::-1], ids=PET_IDS[::-1],
                   probabilities=answer_probabilities(ALPHA)[::-1], test_key=PET_KEY)
    run_store.save_test_images(tmp_path, PET_KEY, PET_IDS, PET_LABELS, pet_pixels())
    return tmp_path


def pet_runs(store: Path, *names: str) -> list[run_store.Run]:
    return [run_store.load_run(store / name) for name in names]


class _Sections(HTMLParser):
    """The report's images, by (h2, h3) heading: each as its <img> attributes plus its caption's text."""

    def __init__(self, page: str):
        super().__init__()
        self.images: dict[tuple[str, str], list[dict]] = {}
        self.headings = {"h2": "", "h3": ""}
        self.open_heading = self.caption = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag in self.headings:
            self.open_heading, self.headings[tag] = tag, ""
            if tag == "h2":
                self.headings["h3"] = ""
        elif tag == "img":
            key = (self.headings["h2"], self.headings["h3"])
            self.images.setdefault(key, []).append({**dict(attrs), "caption": ""})
        elif tag == "figcaption":
            self.caption = self.images[(self.headings["h2"], self.headings["h3"])][-1]

    def handle_endtag(self, tag):
        if tag == self.open_heading:
            self.open_heading = None
        elif tag == "figcaption":
            self.caption = None

    def handle_data(self, data):
        if self.open_heading:
            self.headings[self.open_heading] += data
        elif self.caption is not None:
            self.caption["caption"] = " ".join(f"{self.caption['caption']} {data}".split())


def images_in(page: str, section: str, subsection: str) -> list[dict]:
    return _Sections(page).images.get((section, subsection), [])


def decoded_png(uri: str) -> Image.Image:
    assert uri.startswith(PNG_URI)
    image = Image.open(io.BytesIO(base64.b64decode(uri.removeprefix(PNG_URI), validate=True)))
    assert image.format == "PNG"
    return image


@pytest.fixture
def runs(tmp_path) -> list[run_store.Run]:
    """Alpha's and beta's answers (2 and 3 of 16 right) as two runs whose labels no word of plotly.js holds (the
    report embeds it), without test images."""
    return [write_fake_run(tmp_path, name, labels=PET_LABELS, ids=PET_IDS, probabilities=answer_probabilities(answers),
                           test_key=PET_KEY, metrics={"accuracy": accuracy})
            for name, answers, accuracy in (("cnn_v3-plain", ALPHA, 2 / 16), ("cnn_fast-fast", BETA, 3 / 16))]


@pytest.fixture
def two_run_report(runs) -> str:
    return report_builder.report_html(runs)


def test_the_report_holds_plotly_once_every_run_and_its_test_accuracy(runs, two_run_report):
    assert len(runs) == 2
    assert two_run_report.count(PLOTLY_BUNDLE) == 1
    assert two_run_report.count(FIGURE) == 2 + len(runs) + 2  # curves, confusions, difference, reliability
    for run in runs:
        assert run.label in two_run_report
        assert f">{run.metrics['accuracy']:.4f}<" in two_run_report  # the comparison table, as formatted on Home


def test_two_runs_get_the_head_to_head_sentence(runs, two_run_report):
    first, second = head_to_head.aligned_predictions(*runs)
    sentence = head_to_head.mcnemar_sentence(head_to_head.disagreement(first, second))
    assert sentence in two_run_report
    assert "Head to head" in two_run_report


def test_one_run_gets_no_head_to_head(runs):
    page = report_builder.report_html(runs[:1])
    assert page.count(PLOTLY_BUNDLE) == 1
    assert "Head to head" not in page
    assert runs[1].label not in page


def test_text_from_a_run_is_escaped(runs, monkeypatch):
    run = runs[0]
    monkeypatch.setitem(run.info, "comment", "<script>alert(1)</script>")
    page = report_builder.report_html([run])
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_no_runs_is_refused():
    with pytest.raises(ValueError, match="at least one run"):
        report_builder.report_html([])


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


def test_the_sidebar_offers_the_report(pets_store, open_app):
    app = open_app(pets_store)
    assert [button.label for button in app.sidebar.get("download_button")] == ["Download report"]


def test_each_run_shows_its_most_confident_mistakes_with_true_and_predicted_class(pets_store):
    alpha, beta = pet_runs(pets_store, "alpha", "beta")
    page = report_builder.report_html([alpha, beta])
    shown = images_in(page, "Most confident mistakes", alpha.label)
    assert [image["alt"] for image in shown] == [PET_IDS[i] for i in ALPHA_MISTAKES]
    assert [image["title"] for image in shown] == [PET_IDS[i] for i in ALPHA_MISTAKES]
    names, probabilities = alpha.class_names, alpha.predictions.probabilities
    assert [image["caption"] for image in shown] == [
        f"true {names[PET_LABELS[i]]} predicted {names[probabilities[i].argmax()]} ({probabilities[i].max():.1%})"
        for i in ALPHA_MISTAKES]
    assert shown[0]["caption"] == "true owl predicted cat (71.0%)"  # i5, by hand
    assert "14 of 16 test images wrong; the 12 most confident:" in page
    # Beta gets i5 and i10 right, and i0 wrong at .61: between .62 (i3) and .60 (i12); i4 (.44) comes in last.
    assert [image["alt"] for image in images_in(page, "Most confident mistakes", beta.label)] == [
        PET_IDS[i] for i in (7, 14, 3, 0, 12, 6, 13, 9, 2, 8, 15, 4)]


def test_report_images_are_png_data_uris_of_the_stored_images_enlarged_with_square_pixels(pets_store):
    alpha = pet_runs(pets_store, "alpha")
    shown = images_in(report_builder.report_html(alpha), "Most confident mistakes", alpha[0].label)
    pixels = pet_pixels()
    for image, i in zip(shown, ALPHA_MISTAKES, strict=True):
        png = decoded_png(image["src"])
        assert png.size == (report_builder.IMAGE_SIZE, report_builder.IMAGE_SIZE) == (int(image["width"]), int(image["height"]))
        enlarged = np.asarray(png.convert("RGB"))
        # 8 px to 96: each stored pixel becomes a 12x12 square.
        np.testing.assert_array_equal(enlarged, pixels[i].repeat(12, axis=0).repeat(12, axis=1))


def test_two_runs_show_the_images_only_one_gets_right_most_confident_first(pets_store):
    alpha, beta = pet_runs(pets_store, "alpha", "beta")
    shown = images_in(report_builder.report_html([alpha, beta]), "Head to head", "Images only one gets right")
    assert [image["alt"] for image in shown] == [PET_IDS[0], PET_IDS[5], PET_IDS[10]]  # only A: i0; only B: .8, .7
    assert shown[0]["caption"] == "true cat A: cat (90.0%) B: dog (61.0%)"
    assert shown[1]["caption"] == "true owl A: cat (71.0%) B: owl (80.0%)"
    assert all(decoded_png(image["src"]).size == (report_builder.IMAGE_SIZE,) * 2 for image in shown)


def test_an_ensemble_shows_its_mistakes_from_its_mean_predictions(pets_store):
    alpha, gamma = pet_runs(pets_store, "alpha", "gamma")  # the same answers, stored in another order
    ensemble = Ensemble((alpha, gamma))
    page = report_builder.report_html([ensemble])
    assert [image["alt"] for image in images_in(page, "Most confident mistakes", ensemble.label)] == [
        PET_IDS[i] for i in ALPHA_MISTAKES]


def test_a_run_with_no_mistakes_says_so(pets_store):
    perfect = write_fake_run(pets_store, "perfect", labels=PET_LABELS, ids=PET_IDS, test_key=PET_KEY)
    page = report_builder.report_html([perfect])
    assert "0 of 16 test images wrong." in page
    assert "<img" not in page


def test_a_report_of_many_classes_shows_the_most_confused_classes_of_each_matrix(tmp_path, monkeypatch):
    names = [f"class {index:03d}" for index in range(120)]
    labels = np.arange(120)
    first = write_fake_run(tmp_path, "first", labels=labels, class_names=names,
                           probabilities=np.eye(120)[np.where(labels == 7, 9, labels)])  # 007 taken for 009
    second = write_fake_run(tmp_path, "second", labels=labels, class_names=names,
                            probabilities=np.eye(120)[np.where(labels == 50, 3, labels)])  # 050 for 003
    matrices = []
    monkeypatch.setattr(report_builder.confusion, "confusion_figure",
                        lambda frame, **kwargs: matrices.append(list(frame.index)) or go.Figure())
    monkeypatch.setattr(report_builder.head_to_head, "difference_figure",
                        lambda frame: matrices.append(list(frame.index)) or go.Figure())
    page = report_builder.report_html([first, second])
    assert matrices == [["class 007", "class 009"], ["class 003", "class 050"],
                        ["class 003", "class 007", "class 009", "class 050"]]
    assert page.count("Of the 120 classes, the 2 of the most confused pairs") == 2
    assert "Of the 120 classes, the 4 of the most confused pairs" in page
    assert "<td>class 007</td>" in page and "<td>class 000</td>" not in page  # the tables are cut too


@pytest.mark.parametrize("stored_ids, reason", [
    (None, "missing test_images.npz"),
    (PET_IDS[:10], "the stored test images lack 5 of 12 images"),  # i10, i12 to i15 are among alpha's twelve
])
def test_test_images_that_cannot_be_shown_are_said_in_one_line(tmp_path, stored_ids, reason):
    run = write_fake_run(tmp_path, "alpha", labels=PET_LABELS, ids=PET_IDS, probabilities=answer_probabilities(ALPHA),
                         test_key=PET_KEY)
    if stored_ids is not None:
        run_store.save_test_images(tmp_path, PET_KEY, stored_ids, PET_LABELS[:len(stored_ids)],
                                   pet_pixels()[:len(stored_ids)])
    page = report_builder.report_html([run])
    assert f"<p class=\"caption\">The test images of {run.label} cannot be shown: {reason}.</p>" in page
    assert "<img" not in page


@pytest.fixture
def two_pet_report(pets_store) -> str:
    """A report sure to show images: 12 + 12 mistakes and 3 images only one run gets right."""
    return report_builder.report_html(pet_runs(pets_store, "alpha", "beta"))


@pytest.mark.slow  # a real browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")
@pytest.mark.parametrize("report_of", ["two_run_report", "two_pet_report"])
def test_the_report_opens_offline_in_a_real_browser(report_of, request, tmp_path):
    from playwright.sync_api import sync_playwright

    page_text = request.getfixturevalue(report_of)
    file = tmp_path / "report.html"
    file.write_text(page_text, encoding="utf-8")
    images = page_text.count("<img ")
    if report_of == "two_pet_report":
        assert images == 12 + 12 + 3
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
            figures = page_text.count(FIGURE)
            page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length === {figures}",
                                   timeout=30_000)
            # Every image decoded from its data: URI at its full size.
            page.wait_for_function(f"document.images.length === {images} && Array.from(document.images).every("
                                   f"image => image.complete && image.naturalWidth === {report_builder.IMAGE_SIZE})",
                                   timeout=30_000)
            page.wait_for_timeout(500)  # a late error would still reach the console
        finally:
            browser.close()
    assert requests == [file.as_uri()]
    assert errors == []


def test_a_report_on_the_reviewed_test_set_when_asked(pets_store, tmp_path, capsys):
    from trainers.store import label_verdicts
    from trainers.store.label_verdicts import AMBIGUOUS, WRONG, Verdict

    a, b = (write_fake_run(pets_store, name, labels=PET_LABELS, ids=PET_IDS, test_key=PET_KEY,
                           probabilities=answer_probabilities(answers), metrics={"accuracy": accuracy})
            for name, answers, accuracy in (("a", ALPHA, 2 / 16), ("b", BETA, 3 / 16)))
    output = tmp_path / "reviewed.html"
    assert report.main([str(a.path), str(b.path), "-o", str(output), "--reviewed"]) == 2
    assert capsys.readouterr().err == ("error: --reviewed: the test set has no verdicts yet (the Suspect labels "
                                       "page)\n")
    # i0 (A right, B wrong) is left out; i2 (both say cat) is a cat; i5 and i10, which only B got right, are judged
    # what A said (cat, owl). Of the 15 kept, A gets i1 i2 i5 i10 right (4/15), B i1 i2 (2/15): they swap places.
    for verdict in (Verdict(PET_IDS[0], AMBIGUOUS), Verdict(PET_IDS[2], WRONG, "cat"),
                    Verdict(PET_IDS[5], WRONG, "cat"), Verdict(PET_IDS[10], WRONG, "owl")):
        label_verdicts.record_verdict(pets_store, PET_KEY, verdict)
    given = report_builder.report_html([a, b])
    assert "reviewed test accuracy" not in given and "On the reviewed test set" not in given

    assert report.main([str(a.path), str(b.path), "-o", str(output), "--reviewed"]) == 0
    page = output.read_text(encoding="utf-8")
    assert "reviewed test accuracy" in page and "0.2667" in page and "0.1333" in page
    assert ("Reviewed test accuracy: on the test set as 4 verdicts (Suspect labels) correct it: 3 labels changed and "
            "1 ambiguous image left out.") in page
    assert "On the reviewed test set b (0.1333) ranks above" not in page
    assert "On the reviewed test set a (0.2667) ranks above b (0.1333)" in page
    assert "On the reviewed test set: 15 test images" in page
    shown = images_in(page, "Head to head", "Images only one gets right")
    assert [image["alt"] for image in shown] == [PET_IDS[5], PET_IDS[10]]  # only A now, by A's confidence .71, .69
    assert shown[0]["caption"] == "true cat A: cat (71.0%) B: owl (80.0%)"


def report_figures(page: str) -> list[dict]:
    """Each figure of a report as plotly wrote it: {"data": [...], "layout": {...}}."""
    import json
    import re

    decoder, found = json.JSONDecoder(), []
    for call in re.finditer(r'Plotly\.newPlot\(\s*"[^"]+",\s*', page):
        data, end = decoder.raw_decode(page, call.end())
        layout, _ = decoder.raw_decode(page, page.index("{", end))
        found.append({"data": data, "layout": layout})
    return found


def test_a_report_built_inside_the_server_draws_each_run_in_its_dashboard_colour(pets_store):
    import plotly.io as pio
    import streamlit  # noqa: F401 - sets plotly's default template to Streamlit's, as in the server

    from dashboard.lib import figures

    assert pio.templates.default == "streamlit"
    runs = pet_runs(pets_store, "beta", "alpha")
    page = report_builder.report_html(runs)
    colours = figures.run_colours(run_store.list_runs(pets_store)[0])  # as the sidebar colours the store's runs
    assert colours["alpha"] != colours["beta"]
    drawn = report_figures(page)
    lines = [trace for figure in drawn for trace in figure["data"] if trace.get("name") in ("alpha, train", "beta, train")]
    assert {trace["name"]: trace["line"]["color"] for trace in lines} == {
        "alpha, train": colours["alpha"], "beta, train": colours["beta"]}
    # The reliability diagram's traces of each run (line, points, counts), in its colour.
    reliability = [trace for figure in drawn for trace in figure["data"] if trace.get("name") in ("alpha", "beta")]
    assert reliability and all(colours[trace["name"]] in (trace.get("line", {}).get("color"),
                                                        trace.get("marker", {}).get("color")) for trace in reliability)
    # plotly's own template, not Streamlit's placeholder colours (#000001 ...), which only its page replaces.
    assert "#000001" not in page
    assert all(figure["layout"]["template"]["layout"]["colorway"][0] == "#636efa" for figure in drawn)


def test_the_report_opens_on_the_answer_and_ranks_the_runs_best_first(pets_store):
    page = report_builder.report_html(pet_runs(pets_store, "alpha", "beta"))
    # beta gets i5 and i10 right and i0 wrong: 3 of 16 against alpha's 2.
    assert "<p><b>beta</b> is best on test accuracy: <b>0.1875</b>" in page
    assert "<b>6.25 points</b> ahead of <b>alpha</b>" in page and "<b>Within noise</b>" in page
    table = page[page.index("<table"):]
    assert table.index(">beta<") < table.index(">alpha<")


def test_the_command_line_takes_runs_by_their_names_in_the_store_in_use(pets_store, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ARTIFACTS_DIR", str(pets_store))
    monkeypatch.chdir(tmp_path)
    assert report.main(["alpha", "beta", "-o", str(tmp_path / "named.html")]) == 0
    assert "<b>beta</b> is best on test accuracy" in (tmp_path / "named.html").read_text()
    assert report.main(["alpha", "emu", "-o", str(tmp_path / "none.html")]) == 2
    error = capsys.readouterr().err
    assert f"'emu' is not a usable run (neither a folder nor a run of the store '{pets_store}')" in error
    assert not (tmp_path / "none.html").exists()
