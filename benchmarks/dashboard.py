"""How fast the dashboard answers in a real browser, on run stores of 4, 50 and 200 runs.

    python benchmarks/dashboard.py                       # the standard measurement
    python benchmarks/dashboard.py --baseline HEAD       # the same, beside the dashboard of a git revision
    python benchmarks/dashboard.py --sizes 4 --repeats 1 # a quick look

Builds the stores from the shipped runs in `artifacts/` (copies with varied predictions, metrics and histories,
their models shared by hard links: no training), serves the dashboard on each and drives Debian's chromium
with Playwright. Per page: the time from navigation until Streamlit stops running on the first visit after
the server started (cold), after a widget of the page changes (warm, the median of `--repeats`), and on a
second visit (reload, a new session on a warm server). On the Live page, with the 4 shipped runs selected, the
time from an upload until every model's bars are drawn: the first upload (models not loaded yet) and later
ones (warm). And the server's peak resident memory, its children included.

The first visit, against the floor of the framework: a bare Streamlit page (a title and a line, the same
config) measured in the same run, each trial on a freshly started server, alternating with the dashboard's; a
page has settled when its title shows and no script has run for 300 ms. Two figures, each the median of
`--trials`, and their ratios to the bare page's:
  start: from `streamlit run` until the first page settled, the browser opening as soon as the server answers;
  idle:  the first visit to a server up 30 s (a teammate opening a dashboard started earlier), after which that
         server's Live page times its first upload and the next ones.

Every run of it ends with one line of key=value figures: home_start_over_bare, home_idle_over_bare,
live_first_upload_s and live_warm_upload_s (the server up 30 s), home_cold_s, page_warm_max_s, live_4_models_s
(warm, in the page walk) and peak_mb at each store size, and growth_200_over_4 (the worst page's warm time at
200 runs over its time at 4). `--trials 0` leaves out the first visits, `--no-walk` the page walk. Take timings
alone on the machine: `flock /tmp/bench.lock python benchmarks/dashboard.py`.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "tests")]

from benchmarks.common import key_values  # noqa: E402

from dashboard_server import CHROMIUM, PAGES, launch_chromium, serving  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402
from fake_runs import link_or_copy, varied_copy  # noqa: E402
from trainers.store import run_store  # noqa: E402
from trainers.inference.machine import processor_name  # noqa: E402

SIZES = (4, 50, 200)
# What the warm measurement changes on each page: (kind of widget, its label). Each change reruns the page.
WARM_ACTIONS = {
    "home": ("toggle", "Show the figures reported by the study"),
    "training_curves": ("slider", "Smoothing (exponential moving average weight)"),
    "confusion_matrices": ("toggle", "Normalise rows (share of each true class)"),
    "misclassified": ("selectbox", "Per page"),
    "head_to_head": ("radio", "Gallery"),
    "calibration": ("selectbox", "Run"),
    "suspect_labels": ("selectbox", "Per page"),
    "test_map": ("selectbox", "Colour by"),
    "architecture": ("selectbox", "Model"),
    "live_predictions": ("slider", "Classes shown per model (top-k)"),
}
LIVE_UPLOADS = 4  # the first (cold) and three warm ones
LIVE_TOP_K = 3  # bars per model: the Live page's default top-k
UPLOAD_SIZE = (640, 480)  # px of the uploaded photo-like image
QUIET_MS = 400  # a run counts as over once no other starts within this time
SETTLED_MS = 300  # a first page has settled once no script has run for this long
SERVER_UP_S = 30  # how long a server has been up at an idle first visit
BARE_PAGE = """import streamlit as st

st.title("A bare page")
st.write("The floor of the framework: a title and a line.")
"""
BARE_TITLE = "A bare page"
TIMEOUT_MS = 300_000
WARM_TIMEOUT_MS = 120_000

# Records, in every document the browser opens, each change of Streamlit's script state with its time
# (ms since navigation started): "running" when a run starts, "notRunning" when it ends; and the time of the
# last click or key press, from which a widget change is timed (not from the robot's moves before it).
STATE_RECORDER = """
window.__states = [];
window.__lastInput = 0;
for (const kind of ['pointerup', 'keydown']) {
  window.addEventListener(kind, () => { window.__lastInput = performance.now(); }, true);
}
// An upload starts when the file input hands the browser its file (not when the robot begins sending it).
window.addEventListener('change', event => {
  if (event.target.type === 'file') window.__lastInput = performance.now();
}, true);
// A rerun quicker than a frame may never show as "running" in the page: the last message from the server
// (its script's end is one) marks when it was over.
window.__messages = 0;
window.__lastMessage = 0;
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', () => { window.__messages += 1; window.__lastMessage = performance.now(); });
  }
};
new MutationObserver(records => {
  for (const record of records) {
    window.__states.push([record.target.getAttribute('data-test-script-state'), performance.now()]);
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-test-script-state']});
"""
RUNS_ENDED = "window.__states.filter(([state]) => state === 'notRunning').length"


@dataclass
class Figures:
    """What one dashboard measured on one store: seconds per page and kind of visit, the Live page, memory."""

    cold: dict[str, float] = field(default_factory=dict)
    cold_script_start: dict[str, float] = field(default_factory=dict)  # of `cold`, before the script started
    warm: dict[str, float] = field(default_factory=dict)
    reload: dict[str, float] = field(default_factory=dict)
    live_first: float = float("nan")
    live_warm: float = float("nan")
    live_script_warm: float = float("nan")  # until the page's script ended (each model's map drawn too)
    peak_mb: float = float("nan")


# ---------------------------------------------------------------- stores


def build_stores(root: Path, sizes: tuple[int, ...], source_store: Path, seed: int = 0) -> dict[int, Path]:
    """Stores of each size: the source store's runs and test images, then varied copies of its runs."""
    sources = run_store.list_runs(source_store)[0]
    pool = root / "pool"
    pool.mkdir()
    rng = np.random.default_rng(seed)
    copies = [pool / f"copy-{index:03d}-{sources[index % len(sources)].run_id}"
              for index in range(max(sizes) - len(sources))]
    for index, target in enumerate(copies):
        varied_copy(sources[index % len(sources)].path, target, rng)
    stores = {}
    for size in sizes:
        store = root / f"store-{size}"
        store.mkdir()
        folders = [run.path for run in sources] + copies[:size - len(sources)]
        folders.append(source_store / run_store.DATASETS_DIR)
        for folder in folders:
            shutil.copytree(folder, store / folder.name, copy_function=link_or_copy)
        stores[size] = store
    return stores


# ---------------------------------------------------------------- the browser


def page_time(page) -> float:
    return page.evaluate("performance.now()")


def wait_for_runs_to_end(page, ended_before: int, timeout_ms: float = TIMEOUT_MS, quiet_ms: float = QUIET_MS) -> float:
    """Waits until a run of the script that started after `ended_before` runs had ended is over, and no other
    follows within `quiet_ms`; returns when the last one ended (ms since navigation)."""
    page.wait_for_function(f"{RUNS_ENDED} > {ended_before}", timeout=timeout_ms, polling=20)
    while True:
        states = page.evaluate("window.__states")
        last_state, last_time = states[-1]
        if last_state == "notRunning" and page_time(page) - last_time >= quiet_ms:
            return last_time
        page.wait_for_timeout(20)


def wait_for_rerun(page, messages_before: int, timeout_ms: float = WARM_TIMEOUT_MS) -> float:
    """Waits until the server has answered a widget change and gone quiet (no message and no run of the script
    for QUIET_MS); returns when its last message came (ms since navigation)."""
    page.wait_for_function(f"window.__messages > {messages_before}", timeout=timeout_ms, polling=20)
    while True:
        states = page.evaluate("window.__states")
        last = page.evaluate("window.__lastMessage")
        running = bool(states) and states[-1][0] == "running"
        if not running and page_time(page) - max(last, states[-1][1] if states else 0) >= QUIET_MS:
            return max(last, states[-1][1] if states else 0)
        page.wait_for_timeout(50)


def visit(page, url: str, name: str) -> tuple[float, float]:
    """Opens a page; seconds from navigation until its script (and any rerun it asks for) ended, and until it
    started (the browser loads Streamlit's page and connects before)."""
    path, title = PAGES[name]
    page.goto(url + path)
    page.get_by_role("heading", name=title).first.wait_for(timeout=TIMEOUT_MS)
    ended = wait_for_runs_to_end(page, 0)
    started = next(time for state, time in page.evaluate("window.__states") if state == "running")
    return ended / 1000, started / 1000


def change_widget(page, kind: str, label: str, step: int) -> None:
    """Changes a widget of the page's main area: a toggle flips, a slider moves one step (right on even steps,
    back on odd ones), a selectbox picks the first option not chosen, a radio its second option (even) or its
    first (odd)."""
    main = page.locator('[data-testid="stMain"]')
    if kind == "toggle":
        main.get_by_text(label, exact=True).first.click()
    elif kind == "slider":
        main.get_by_role("slider", name=label).first.press("ArrowRight" if step % 2 == 0 else "ArrowLeft")
    elif kind == "selectbox":
        other = page.locator('[role="option"][aria-selected="false"]').first
        for _ in range(3):  # a click that lands while the page scrolls may not open the list
            main.get_by_role("combobox", name=label, exact=True).first.click()
            try:
                other.wait_for(timeout=3000)
                break
            except PlaywrightTimeout:
                page.keyboard.press("Escape")
        other.click()
    elif kind == "radio":
        main.get_by_role("radiogroup", name=label).get_by_role("radio").nth(1 - step % 2).click(force=True)
    else:
        raise ValueError(f"Unknown kind of widget '{kind}'")


def warm_time(page, name: str, repeats: int) -> float:
    """Median seconds from a widget change until the page's script ended."""
    kind, label = WARM_ACTIONS[name]
    times = []
    for step in range(repeats):
        messages = page.evaluate("window.__messages")
        change_widget(page, kind, label, step)
        try:
            end = wait_for_rerun(page, messages)
        except PlaywrightTimeout:
            page.screenshot(path=f"dashboard-benchmark-{name}.png")
            raise RuntimeError(f"Changing the {kind} '{label}' of {name} (step {step}) ended no run of the page; "
                               f"see dashboard-benchmark-{name}.png") from None
        times.append((end - page.evaluate("window.__lastInput")) / 1000)
    return statistics.median(times)


def select_runs(page, labels: list[str]) -> None:
    """Leaves only the runs of `labels` selected in the sidebar."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    runs = sidebar.get_by_role("combobox", name="Runs")
    messages = page.evaluate("window.__messages")
    sidebar.get_by_role("button", name="Clear all").first.click()
    wait_for_rerun(page, messages)
    for label in labels:
        chosen = sidebar.get_by_role("button", name=f"Remove {label}", exact=True)
        for _ in range(3):  # a click that lands while the list redraws may choose nothing
            messages = page.evaluate("window.__messages")
            runs.click()
            runs.fill(label)  # the list shows a long store's runs a few at a time: filter it down to this one
            page.get_by_role("option", name=label, exact=True).click()
            page.keyboard.press("Escape")
            try:
                chosen.wait_for(timeout=10_000)
                break
            except PlaywrightTimeout:
                continue
        wait_for_rerun(page, messages)


def photo(seed: int) -> bytes:
    """A photo-like PNG: smooth colour blobs with a little noise."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize(UPLOAD_SIZE, Image.BICUBIC)
    pixels = np.asarray(coarse, np.int16) + rng.integers(-12, 13, (*UPLOAD_SIZE[::-1], 3))
    data = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(data, format="PNG")
    return data.getvalue()


def upload_time(page, number: int, models: int) -> tuple[float, float]:
    """Uploads a new image; seconds from the file input's change until every model's bars are drawn, and until the
    script ended."""
    # Bars drawn as progress bars (this tree) or as one plotly chart per model (older trees, for --baseline).
    bars = (f"(document.querySelectorAll('[data-testid=\"stProgress\"]').length >= {models * LIVE_TOP_K}"
            f" || document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .barlayer .trace').length >= {models})"
            " ? (window.__barsAt = performance.now()) : false")
    page.evaluate("window.__barsAt = null")
    messages = page.evaluate("window.__messages")
    page.locator('input[type="file"]').first.set_input_files(
        {"name": f"photo-{number}.png", "mimeType": "image/png", "buffer": photo(number)})
    page.wait_for_function(bars, timeout=TIMEOUT_MS, polling="raf")
    drawn = page.evaluate("window.__barsAt")
    script_end = wait_for_rerun(page, messages)
    start = page.evaluate("window.__lastInput")
    return (drawn - start) / 1000, (script_end - start) / 1000


def remove_upload(page) -> None:
    messages = page.evaluate("window.__messages")
    page.locator('[data-testid="stFileChipDeleteBtn"] button').first.click()
    wait_for_rerun(page, messages)


def peak_rss_mb(pid: int) -> float:
    """The highest resident memory (VmHWM) of a process, plus that of its living children."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
        pids += [int(child) for child in children]
    return total / 1024


def measure(store: Path, repo: Path, live_labels: list[str], repeats: int, log: Path) -> Figures:
    """Every page cold, warm and reloaded, then the Live page's uploads, on one freshly started dashboard."""
    from playwright.sync_api import sync_playwright

    figures = Figures()
    with serving(store, log, repo=repo, startup_seconds=120) as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.add_init_script(STATE_RECORDER)
            for name in PAGES:
                figures.cold[name], figures.cold_script_start[name] = visit(page, server.url, name)
                figures.warm[name] = warm_time(page, name, repeats)
                figures.reload[name] = visit(page, server.url, name)[0]
            visit(page, server.url, "live_predictions")
            if len(live_labels) < len(run_store.list_runs(store)[0]):
                select_runs(page, live_labels)
            uploads = []
            for number in range(LIVE_UPLOADS):
                if number:
                    remove_upload(page)  # one image at a time: the uploader keeps every file given to it
                uploads.append(upload_time(page, number, len(live_labels)))
            figures.live_first = uploads[0][0]
            figures.live_warm = statistics.median(drawn for drawn, _ in uploads[1:])
            figures.live_script_warm = statistics.median(ended for _, ended in uploads[1:])
        finally:
            browser.close()
        figures.peak_mb = peak_rss_mb(server.process.pid)
    return figures


# ---------------------------------------------------------------- the first visit


@dataclass
class FirstVisits:
    """Seconds of each trial on a fresh server: until its first page settled from `streamlit run`, and from a
    first visit to it once up SERVER_UP_S; the dashboard's Live page on that server too."""

    start: list[float] = field(default_factory=list)
    idle: list[float] = field(default_factory=list)
    live_first: list[float] = field(default_factory=list)
    live_warm: list[float] = field(default_factory=list)


def settled_ms(page, title: str) -> float:
    """Waits until the page shows its title as a heading and no script has run for SETTLED_MS; ms since
    navigation when the last run ended."""
    page.get_by_role("heading", name=title).first.wait_for(timeout=TIMEOUT_MS)
    return wait_for_runs_to_end(page, 0, quiet_ms=SETTLED_MS)


def first_visit(browser, store: Path, repo: Path, script: Path | None, title: str, log: Path, *, idle: bool,
                live_models: int = 0) -> tuple[float, list[float]]:
    """One trial on a freshly started server, in a fresh browser context: seconds from `streamlit run` until the
    first page settled, the browser navigating as soon as the server answers; or (`idle`) from navigating to a
    server up SERVER_UP_S until it settled, then, with `live_models`, its Live page's upload times."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.add_init_script(STATE_RECORDER)
    uploads = []
    try:
        launched = time.perf_counter()
        with serving(store, log, repo=repo, script=script, startup_seconds=120) as server:
            if idle:
                time.sleep(SERVER_UP_S)
            navigated = time.perf_counter()
            page.goto(server.url)
            seconds = settled_ms(page, title) / 1000 + (0 if idle else navigated - launched)
            if live_models:
                page.goto(server.url + PAGES["live_predictions"][0])
                settled_ms(page, PAGES["live_predictions"][1])
                for number in range(LIVE_UPLOADS):
                    if number:
                        remove_upload(page)
                    uploads.append(upload_time(page, number, live_models)[0])
    finally:
        context.close()
    return seconds, uploads


def measure_first_visits(store: Path, repo: Path, live_models: int, trials: int, root: Path) -> dict[str, FirstVisits]:
    """`trials` of each kind, for the bare page and the dashboard in turn."""
    from playwright.sync_api import sync_playwright

    bare = root / "bare" / "bare_page.py"
    bare.parent.mkdir(exist_ok=True)
    bare.write_text(BARE_PAGE)
    pages = {"bare": (bare, BARE_TITLE), "home": (None, PAGES["home"][1])}
    visits = {name: FirstVisits() for name in pages}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for trial in range(trials):
                for idle in (False, True):
                    for name, (script, title) in pages.items():
                        seconds, uploads = first_visit(browser, store, repo, script, title, root / f"{name}.log", idle=idle,
                                                       live_models=live_models if idle and name == "home" else 0)
                        (visits[name].idle if idle else visits[name].start).append(seconds)
                        if uploads:
                            visits[name].live_first.append(uploads[0])
                            visits[name].live_warm += uploads[1:]
                        print(f"  trial {trial + 1}, {name}, {'idle' if idle else 'start'}: {seconds:.2f} s"
                              + (f"; uploads {', '.join(f'{upload:.2f}' for upload in uploads)} s" if uploads else ""),
                              flush=True)
        finally:
            browser.close()
    return visits


def first_visit_figures(visits: dict[str, FirstVisits]) -> dict[str, float]:
    """The medians, and the dashboard's over the bare page's."""
    median = statistics.median
    bare, home = visits["bare"], visits["home"]
    return {"bare_start_s": round(median(bare.start), 2), "home_start_s": round(median(home.start), 2),
            "home_start_over_bare": round(median(home.start) / median(bare.start), 2),
            "bare_idle_s": round(median(bare.idle), 2), "home_idle_s": round(median(home.idle), 2),
            "home_idle_over_bare": round(median(home.idle) / median(bare.idle), 2),
            "live_first_upload_s": round(median(home.live_first), 3),
            "live_warm_upload_s": round(median(home.live_warm), 3)}


# ---------------------------------------------------------------- the report


def checkout(revision: str, folder: Path) -> Path:
    """The files of a git revision of this repository, without its run store (a benchmark brings its own); or
    `revision` itself when it is a folder (another checkout)."""
    if Path(revision).is_dir():
        return Path(revision).resolve()
    archive = subprocess.run(["git", "archive", revision, "dashboard", "trainers", ".streamlit"], cwd=REPO_ROOT, check=True,
                             capture_output=True).stdout
    folder.mkdir()
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def table(results: dict[int, Figures], title: str) -> str:
    sizes = list(results)
    header = f"{title:<22}" + "".join(f"{f'{size} runs: cold / warm / reload':>34}" for size in sizes)
    lines = [header, "-" * len(header)]
    for name in PAGES:
        lines.append(f"{name:<22}" + "".join(
            f"{results[size].cold[name]:>14.2f}{results[size].warm[name]:>10.2f}{results[size].reload[name]:>10.2f}"
            for size in sizes))
    lines.append(f"{'home: script started':<22}" + "".join(f"{results[size].cold_script_start['home']:>14.2f}"
                                                           + " " * 20 for size in sizes))
    lines.append(f"{'live, first upload':<22}" + "".join(f"{results[size].live_first:>34.2f}" for size in sizes))
    lines.append(f"{'live, warm upload':<22}" + "".join(f"{results[size].live_warm:>34.3f}" for size in sizes))
    lines.append(f"{'  its script ended':<22}" + "".join(f"{results[size].live_script_warm:>34.3f}" for size in sizes))
    lines.append(f"{'server peak (MB)':<22}" + "".join(f"{results[size].peak_mb:>34.0f}" for size in sizes))
    return "\n".join(lines)


def side_by_side(before: dict[int, Figures], after: dict[int, Figures], baseline: str) -> str:
    """Each page's warm time and the key figures, the baseline's beside this tree's, and how many times faster."""
    rows = {f"{name} (warm)": (lambda f, name=name: f.warm[name]) for name in PAGES}
    rows.update({"home (cold)": lambda f: f.cold["home"], "live, warm upload": lambda f: f.live_warm,
                 "server peak (GB)": lambda f: f.peak_mb / 1024})
    header = f"{baseline + ' -> this tree':<28}" + "".join(f"{f'{size} runs':>26}" for size in after)
    lines = [header, "-" * len(header)]
    for label, value in rows.items():
        lines.append(f"{label:<28}" + "".join(
            f"{value(before[size]):>10.2f} ->{value(after[size]):>6.2f} {value(before[size]) / value(after[size]):>5.1f}x"
            for size in after))
    return "\n".join(lines)


def key_figures(results: dict[int, Figures]) -> str:
    """The figures of the last line: each at every store size, and the growth of the worst page from 4 to 200."""
    figures = {}
    for key, value in (("home_cold_s", lambda f: round(f.cold["home"], 2)),
                       ("page_warm_max_s", lambda f: round(max(f.warm.values()), 2)),
                       ("live_4_models_s", lambda f: round(f.live_warm, 3)),
                       ("peak_mb", lambda f: round(f.peak_mb))):
        figures.update({f"{key}@{size}": value(results[size]) for size in results})
    if min(results) == 4 and 200 in results:
        figures["growth_200_over_4"] = round(max(results[200].warm[name] / results[4].warm[name] for name in PAGES), 2)
    return key_values(figures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="runs per store, comma-separated")
    parser.add_argument("--repeats", type=int, default=3, help="widget changes per page for its warm time")
    parser.add_argument("--trials", type=int, default=3,
                        help="first-visit trials of each kind (bare page and dashboard, start and idle); 0: none")
    parser.add_argument("--no-walk", action="store_true", help="leave out the walk through every page")
    parser.add_argument("--baseline", metavar="REVISION",
                        help="also measure the dashboard of this git revision (or of the checkout in this folder), "
                             "alternating with this tree's")
    parser.add_argument("--source", type=Path, default=REPO_ROOT / "artifacts",
                        help="the store whose runs are copied (its runs are the Live page's models)")
    args = parser.parse_args(argv)
    sizes = tuple(sorted(int(size) for size in args.sizes.split(",")))
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"No chromium at {CHROMIUM}: apt-get install -y chromium")
    sources = run_store.list_runs(args.source)[0]
    if min(sizes) < len(sources):
        raise SystemExit(f"The smallest store holds the {len(sources)} runs of {args.source}: --sizes {args.sizes}")
    live_labels = [run.label for run in sources]
    print(f"CPU: {processor_name()}, {os.cpu_count()} cores; load average at the start "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dashboard-benchmark-") as folder:
        root = Path(folder)
        stores = build_stores(root, sizes, args.source)
        print(f"stores of {', '.join(map(str, sizes))} runs (copies of the {len(sources)} in {args.source}) built in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        versions = {"this tree": REPO_ROOT}
        if args.baseline:
            versions = {args.baseline: checkout(args.baseline, root / "baseline"), **versions}
        results: dict[str, dict[int, Figures]] = {version: {} for version in versions}
        first_visits: dict[int, dict[str, float]] = {}
        for size in sizes:
            if args.trials:
                print(f"first visits at {size} runs, {args.trials} trials of each kind:", flush=True)
                first_visits[size] = first_visit_figures(
                    measure_first_visits(stores[size], REPO_ROOT, len(live_labels), args.trials, root))
                print(f"{size} runs, first visits: {key_values(first_visits[size])} "
                      f"({time.perf_counter() - started:.0f} s in all)", flush=True)
            if args.no_walk:
                continue
            for version, repo in versions.items():
                results[version][size] = measure(stores[size], repo, live_labels, args.repeats,
                                                 root / f"server-{size}.log")
                print(table({size: results[version][size]}, version))
                print(f"{size} runs, {version}: {key_figures({size: results[version][size]})} "
                      f"({time.perf_counter() - started:.0f} s in all)", flush=True)
    print()
    for version, figures in results.items():
        if figures:
            print(table(figures, version))
            print()
    if args.baseline:
        print(side_by_side(results[args.baseline], results["this tree"], args.baseline))
        print()
        print(f"{args.baseline}: {key_figures(results[args.baseline])}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}; {time.perf_counter() - started:.0f} s in all")
    last_line = {f"{key}@{size}": value for size, figures in first_visits.items() for key, value in figures.items()}
    print(" ".join(filter(None, [key_values(last_line) if last_line else "",
                                 key_figures(results["this tree"]) if results["this tree"] else ""])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
