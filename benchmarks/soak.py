"""Soak test: the dashboard on a store of 50 runs, broken ones mixed in, under several browser sessions at once.

    python benchmarks/soak.py                  # 50 runs, 5 Live sessions for 120 s
    python benchmarks/soak.py --runs 20 --sessions 3 --seconds 60

Builds the store from two tiny trained runs (copies with varied predictions and histories: no long training),
serves the dashboard, opens every page and changes a widget on each, in both data sets of the store; then
5 browser sessions upload images to the Live page at once for a bounded time. Prints the server's memory
over time and any exception it logged, and exits 1 if a page showed an exception or the server logged one.
Needs Debian's chromium at /usr/bin/chromium. Not part of `pytest` (it takes minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
# The repository, and tests/ for the helpers this shares with the browser tests (the dashboard server,
# colour images, copies of runs).
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "tests")]

from colour_images import COLOURS, colour_image, make_image_folder  # noqa: E402
from dashboard_server import CHROMIUM, CHROMIUM_ARGS, PAGES, serving  # noqa: E402
from fake_runs import varied_copy  # noqa: E402
from trainers.store import run_store  # noqa: E402
from trainers.train import main as train  # noqa: E402

# Faults mixed into the store: folder name -> how a copy of a good run is damaged.
FAULTS = {
    "broken-truncated-model": lambda path: (path / run_store.MODEL_FILE).write_bytes(
        (path / run_store.MODEL_FILE).read_bytes()[:500]),
    "broken-invalid-json": lambda path: (path / run_store.METRICS_FILE).write_text('{"accuracy": 0.'),
    "broken-nan-probabilities": lambda path: _rewrite_predictions(path, lambda p: np.where(p > 0.5, np.nan, p)),
    "broken-newer-schema": lambda path: _rewrite_json(path / run_store.RUN_FILE, schema_version=99),
    "broken-no-epochs": lambda path: pd.read_csv(path / run_store.HISTORY_FILE).head(0).to_csv(
        path / run_store.HISTORY_FILE, index=False),
    "broken-no-predictions": lambda path: (path / run_store.PREDICTIONS_FILE).unlink(),
}


def _rewrite_json(path: Path, **changes) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def _rewrite_predictions(path: Path, change) -> None:
    run = run_store.load_run(path)
    predictions = run.predictions
    run_store.write_predictions(path, predictions.ids, predictions.labels, change(predictions.probabilities))


def build_store(root: Path, runs: int, seed: int = 0) -> Path:
    """Two trained tiny runs, copied into a store of `runs` runs over two test sets, plus every fault."""
    folder = make_image_folder(root / "colours", per_class=16, test_per_class=8)
    trained = root / "trained"
    common = ["--dataset", f"folder:{folder}", "--artifacts", str(trained), "--image-size", "16",
              "--cache-dir", str(root / "cache"), "--verbose", "0", "--epochs", "2", "--batch-size", "8"]
    assert train(["cnn_v3", "--name", "plain", "--no-keep-best", *common]) == 0
    assert train(["cnn_fast", "--name", "fast", "--shift-tta", "1", *common]) == 0
    store = root / "store"
    shutil.copytree(trained, store)  # the two runs and their test images
    # A second test set (the same images under another key), where most runs are: the Live page's
    # sessions stay on the first, whose 4 runs are what one compares by hand.
    first_key = run_store.load_run(store / "plain").test_key
    second_key = first_key.rsplit("-", 1)[0] + "-bulk0000"
    images = run_store.load_test_images(store, first_key)
    run_store.save_test_images(store, second_key, images.ids, images.labels, images.images)
    rng = np.random.default_rng(seed)
    sources = [trained / "plain", trained / "fast"]
    for index in range(runs - 2 - len(FAULTS)):
        varied_copy(sources[index % 2], store / f"copy-{index:03d}", rng, test_key=None if index < 2 else second_key)
    for index, (name, damage) in enumerate(FAULTS.items()):
        shutil.copytree(sources[index % 2], store / name)
        damage(store / name)
    return store


class MemoryWatch(threading.Thread):
    """Samples a process's resident memory (VmRSS) every `interval` seconds, with the phase it was taken in."""

    def __init__(self, pid: int, interval: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.interval, self.phase = pid, interval, "start"
        self.samples: list[tuple[float, str, float]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        while not self.stopped.is_set():
            try:
                status = Path(f"/proc/{self.pid}/status").read_text()
            except OSError:
                return
            rss_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
            self.samples.append((time.monotonic() - start, self.phase, rss_kb / 1024))
            time.sleep(self.interval)

    def peak(self, phase: str | None = None) -> float:
        return max(mb for _, p, mb in self.samples if phase in (None, p))

    def last(self, phase: str) -> float:
        return [mb for _, p, mb in self.samples if p == phase][-1]


def png_bytes(colour: str, seed: int) -> bytes:
    data = io.BytesIO()
    colour_image(COLOURS[colour], (48, 36), seed=seed).save(data, format="PNG")
    return data.getvalue()


async def wait_idle(page, timeout_ms: float = 120_000) -> None:
    await page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout_ms)
    await page.wait_for_timeout(300)


async def exceptions_on(page) -> int:
    return await page.locator('[data-testid="stException"]').count()


async def visit_pages(browser, url: str) -> list[str]:
    """Every page in each data set, a widget changed on each; returns the pages that showed an exception."""
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    failures = []
    for data_set in (0, 1):
        for name, (path, title) in PAGES.items():
            await page.goto(url + path)
            await page.get_by_role("heading", name=title).first.wait_for(timeout=120_000)
            await wait_idle(page)
            if data_set:
                await page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
                await page.get_by_role("option").nth(1).click()
                await wait_idle(page)
            toggles = page.locator('[data-testid="stMain"] [data-testid="stCheckbox"], '
                                   '[data-testid="stMain"] [data-testid="stToggle"]')
            if await toggles.count():
                await toggles.first.click()
                await wait_idle(page)
            if await exceptions_on(page):
                failures.append(f"{name} (data set {data_set + 1})")
    await page.close()
    return failures


async def live_session(browser, url: str, number: int, until: float) -> tuple[int, int]:
    """Uploads images to the Live page again and again until `until`; returns (uploads answered, exceptions)."""
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    path, title = PAGES["live_predictions"]
    await page.goto(url + path)
    await page.get_by_role("heading", name=title).first.wait_for(timeout=120_000)
    await wait_idle(page)
    answered, exceptions, round_ = 0, 0, 0
    while time.monotonic() < until:
        files = [{"name": f"s{number}-r{round_}-{i}.png", "mimeType": "image/png",
                  "buffer": png_bytes(colour, seed=100 * number + round_ + i)}
                 for i, colour in enumerate(("red", "green", "blue"))]
        await page.locator('input[type="file"]').first.set_input_files(files)
        await page.get_by_role("heading", name=files[-1]["name"]).first.wait_for(timeout=120_000)
        await wait_idle(page)
        answered += len(files)
        exceptions += await exceptions_on(page)
        round_ += 1
    await context.close()
    return answered, exceptions


async def soak(url: str, sessions: int, seconds: float, watch: MemoryWatch) -> tuple[list[str], list[tuple[int, int]]]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        watch.phase = "pages"
        failures = await visit_pages(browser, url)
        watch.phase = "live"
        until = time.monotonic() + seconds
        results = await asyncio.gather(*(live_session(browser, url, number, until) for number in range(sessions)))
        watch.phase = "after"
        await browser.close()
    await asyncio.sleep(5)  # the server settles once the sessions are gone
    return failures, list(results)


def server_exceptions(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if "Traceback" in line or "Exception" in line or line.startswith("Error")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50, help="run folders in the store, broken ones included")
    parser.add_argument("--sessions", type=int, default=5, help="browser sessions on the Live page at once")
    parser.add_argument("--seconds", type=float, default=120, help="how long they upload images")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"No chromium at {CHROMIUM}: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        store = build_store(root, args.runs)
        readable, broken = run_store.list_runs(store)
        print(f"store: {len(readable) + len(broken)} runs ({len(broken)} broken at the run store's level) "
              f"built in {time.perf_counter() - started:.0f} s", flush=True)
        with serving(store, root / "server.log") as server:
            watch = MemoryWatch(server.process.pid)
            watch.start()
            failures, results = asyncio.run(soak(server.url, args.sessions, args.seconds, watch))
            time.sleep(2)
            watch.stopped.set()
            logged = server_exceptions(server.log)
        answered = sum(count for count, _ in results)
        shown = sum(count for _, count in results)
        print(f"pages with an exception: {failures or 'none'}")
        print(f"live: {args.sessions} sessions for {args.seconds:.0f} s, {answered} uploads answered, "
              f"{shown} exceptions shown")
        print(f"server memory (MB): start {watch.samples[0][2]:.0f}, peak while visiting pages "
              f"{watch.peak('pages'):.0f}, peak under load {watch.peak('live'):.0f}, "
              f"at the end of the load {watch.last('live'):.0f}, settled after it {watch.last('after'):.0f}")
        print(f"server log: {len(logged)} exception lines" + "".join(f"\n  {line}" for line in logged[:20]))
        print(f"soak_runs={args.runs} pages_failed={len(failures)} uploads={answered} exceptions={shown + len(logged)} "
              f"peak_mb={watch.peak():.0f} end_mb={watch.last('after'):.0f}")
        return 1 if failures or shown or logged else 0


if __name__ == "__main__":
    sys.exit(main())
