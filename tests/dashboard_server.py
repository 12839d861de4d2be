"""The dashboard as a real server in a headless Chromium: shared by the browser test and the screenshot script."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from paths import REPO_ROOT
HOME_SCRIPT = REPO_ROOT / "dashboard" / "Home.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

# Screenshot name -> (URL path of the page, its title).
PAGES = {
    "home": ("", "Run comparison"),
    "training_curves": ("training_curves", "Training curves"),
    "confusion_matrices": ("confusion_matrices", "Confusion matrices"),
    "misclassified": ("misclassified", "Misclassified samples"),
    "head_to_head": ("head_to_head", "Head to head"),
    "calibration": ("calibration", "Calibration"),
    "suspect_labels": ("suspect_labels", "Suspect labels"),
    "new_images": ("new_images", "New images"),
    "robustness": ("robustness", "Robustness"),
    "test_map": ("test_map", "Test-set map"),
    "architecture": ("architecture", "Architecture"),
    "live_predictions": ("live_predictions", "Live predictions"),
}
# The page scripts not named like their page (its screenshot and URL path).
SCRIPTS = {"test_map": "projection"}
# The page scripts, as Streamlit's AppTest switches to them; the live page, which loads models, is last.
VIEWS = [f"views/{SCRIPTS.get(name, name)}.py" for name in PAGES]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A running dashboard: its base URL, its process, and the file its output goes to."""

    url: str
    process: subprocess.Popen
    log: Path


@contextmanager
def serving(store: Path, log: Path, *, startup_seconds: float = 60, repo: Path = REPO_ROOT,
            script: Path | None = None):
    """Runs `streamlit run dashboard/Home.py` on `store`, its output in `log`, and yields the Server once it
    answers; stops it.

    `repo` is the checkout whose dashboard is served (this one by default; a benchmark serves an older one
    beside it); `script`, another script served from it instead, with the same config (a benchmark's bare page).
    """
    port = free_port()
    env = {**os.environ, "ARTIFACTS_DIR": str(store), "TF_CPP_MIN_LOG_LEVEL": "2"}
    home = script or Path(repo) / HOME_SCRIPT.relative_to(REPO_ROOT)
    command = [sys.executable, "-m", "streamlit", "run", str(home), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    with open(log, "wb") as output:
        server = subprocess.Popen(command, cwd=repo, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"The dashboard exited with {server.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url + "_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"The dashboard did not answer on {url} in {startup_seconds} s") from None
                time.sleep(0.05)
        yield Server(url, server, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextmanager
def running_dashboard(store: Path, *, startup_seconds: float = 60):
    """Runs the dashboard on `store` and yields its base URL; stops it afterwards."""
    with tempfile.TemporaryDirectory() as folder, serving(store, Path(folder) / "server.log",
                                                          startup_seconds=startup_seconds) as server:
        yield server.url


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def wait_until_idle(page, timeout_ms: float = 60_000) -> None:
    """Waits until Streamlit has finished running the page's script and the charts are drawn."""
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout_ms)
    page.wait_for_timeout(500)  # plotly draws just after the script ends


def wait_for_images(page, timeout_ms: float = 60_000) -> int:
    """Waits until the script has ended, its spinners are gone and every image has arrived from Streamlit's
    media server; returns how many images there are."""
    wait_until_idle(page, timeout_ms)
    page.wait_for_selector('[data-testid="stSpinner"]', state="detached", timeout=timeout_ms)
    page.wait_for_function("Array.from(document.images).every(image => image.complete && image.naturalWidth > 0)",
                           timeout=timeout_ms)
    return page.evaluate("document.images.length")


def choose_option(page, combobox, option: str) -> None:
    """Opens a selectbox (a locator of its combobox) and picks `option`; a first click that only takes the focus
    from a field typed in before is followed by another, as a person would click again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    wanted = page.get_by_role("option", name=option, exact=True)
    for _ in range(3):
        combobox.click()
        try:
            wanted.wait_for(timeout=2000)
            break
        except PlaywrightTimeout:
            continue
    wanted.click()


def open_page(page, url: str, path: str, title: str, timeout_ms: float = 60_000) -> None:
    """Opens a dashboard page and waits for its title and for the script to end."""
    page.goto(url + path)
    page.get_by_role("heading", name=title).first.wait_for(timeout=timeout_ms)
    wait_until_idle(page, timeout_ms)


def select_on_map(page, left: float, top: float, right: float, bottom: float, timeout_ms: float = 60_000) -> None:
    """Drags a selection box over the page's first plotly chart, from (left, top) to (right, bottom) given as
    fractions of its plot area, and waits for the page to answer."""
    area = page.locator(".nsewdrag").first.bounding_box()
    x, y = area["x"], area["y"]
    page.mouse.move(x + area["width"] * left, y + area["height"] * top)
    page.mouse.down()
    page.mouse.move(x + area["width"] * right, y + area["height"] * bottom, steps=10)
    page.mouse.up()
    page.wait_for_timeout(500)  # the selection reaches Streamlit, which reruns the page
    wait_until_idle(page, timeout_ms)


def upload(page, name: str, image, mime_type: str = "image/png", timeout_ms: float = 60_000) -> None:
    """Uploads a file's bytes, or a PIL image as a PNG, through the page's file input, and waits for the models'
    answers."""
    if not isinstance(image, bytes):
        data = io.BytesIO()
        image.save(data, format="PNG")
        image = data.getvalue()
    page.locator('input[type="file"]').first.set_input_files({"name": name, "mimeType": mime_type, "buffer": image})
    page.get_by_role("heading", name=name).first.wait_for(timeout=timeout_ms)
    wait_until_idle(page, timeout_ms)
