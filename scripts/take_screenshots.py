"""Saves a full-page PNG of every dashboard page, selecting part of the test-set map and uploading a test image on
the live page.

    python scripts/take_screenshots.py                      # the repository's artifacts/
    python scripts/take_screenshots.py --store my-store --out docs/screenshots
    python scripts/take_screenshots.py --width 800 --first-screen --out /tmp/shots   # what a narrow window shows

Needs Debian's chromium at /usr/bin/chromium and a store with at least one run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

REPO_ROOT = Path(__file__).resolve().parent.parent
# The repository, and tests/ for the browser tests' dashboard server and page actions, which this shares.
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "tests")]

from dashboard_server import (PAGES, launch_chromium, open_page, running_dashboard, select_on_map,  # noqa: E402
                              upload, wait_for_images, wait_until_idle)
from trainers.store import evaluation_sets, run_store  # noqa: E402

WIDTH, MIN_HEIGHT = 1400, 900  # the README's


def sample_image(store: Path) -> Image.Image:
    """The first stored test image of the store's first run, enlarged like a photo would be."""
    runs, _ = run_store.list_runs(store)
    if not runs:
        raise SystemExit(f"No runs in '{store}': train one first, e.g. python -m trainers.train cnn_v3")
    images = run_store.load_test_images(store, runs[0].test_key)
    return Image.fromarray(images.images[0]).resize((128, 128), Image.Resampling.BICUBIC)


def first_labelled_set(store: Path) -> str | None:
    """The first evaluation set with labels of the store's first run's test set (New images is shown on it)."""
    runs, _ = run_store.list_runs(store)
    return next((name for name in evaluation_sets.set_names(store, runs[0].test_key)
                 if (evaluation_sets.set_description(store, runs[0].test_key, name) or {}).get("labelled")), None)


def full_page_screenshot(page, path: Path, width: int = WIDTH) -> None:
    # A busy machine can leave the page still drawing; its height is only known once it is done.
    wait_for_images(page)
    # Streamlit scrolls inside its main block, so the window is made as tall as that block.
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": width, "height": max(MIN_HEIGHT, height)})
    page.wait_for_timeout(800)  # charts redraw at the new size
    wait_for_images(page)  # thumbnails below the old window load now
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size({"width": width, "height": MIN_HEIGHT})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=REPO_ROOT / "artifacts", help="run store (default: artifacts/)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshots", help="where the PNGs go")
    parser.add_argument("--width", type=int, default=WIDTH, help=f"the window's width in px (default: {WIDTH})")
    parser.add_argument("--first-screen", action="store_true",
                        help=f"only what a {MIN_HEIGHT} px high window shows first, named <page>_<width>.png")
    args = parser.parse_args(argv)
    store = args.store.resolve()
    image = sample_image(store)
    args.out.mkdir(parents=True, exist_ok=True)
    with running_dashboard(store) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": args.width, "height": MIN_HEIGHT})
        shown_set = first_labelled_set(store)
        for name, (path, title) in PAGES.items():
            if name == "new_images" and shown_set:  # the page answers for a set of new images
                path = f"{path}?set={shown_set}"
            open_page(page, url, path, title)
            if name == "home" and not args.first_screen:  # the toggle is below the first screen
                page.get_by_text("Show the figures reported by the study").click()
                page.get_by_role("heading", name="Reported by the study").wait_for()
                wait_until_idle(page)
            if name == "test_map":
                select_on_map(page, 0.45, 0.45, 0.6, 0.6)  # a patch of the middle, where classes meet
            if name == "live_predictions":
                upload(page, "sample.png", image)
            if args.first_screen:
                wait_for_images(page)
                shot = args.out / f"{name}_{args.width}.png"
                page.screenshot(path=shot)
            else:
                shot = args.out / f"{name}.png"
                full_page_screenshot(page, shot, args.width)
            print(f"saved {shot}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
