"""Galleries of test images in pages of cards, each opening a dialog with every selected run's view of the image."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.lib import samples
from dashboard.lib.caches import MAX_MODELS, test_images
from dashboard.lib.model_outputs import where_it_looked
from trainers.store.run_store import Run, TestImages

MAPS_PER_ROW = 4  # runs abreast in an image's dialog


@st.dialog("Test image", width="large")
def _every_runs_view(images: TestImages, runs: list, image_id: str, true_class: str) -> None:
    pixels = images.select([image_id])[0]
    st.image(samples.upscale(pixels, 384))
    st.markdown(f"`{image_id}`, true class **{true_class}**. What every selected run predicted:")
    st.dataframe(samples.predictions_for_image(runs, image_id), hide_index=True,
                 column_config={"confidence": st.column_config.NumberColumn(format="percent")})
    st.markdown("**Where each run looked**, for its pick and, when it is wrong, for the true class"
                + (f" (the first {MAX_MODELS} runs selected):" if len(runs) > MAX_MODELS else ":"))
    mapped = runs[:MAX_MODELS]  # a model each: more would be loaded again on every view
    for start in range(0, len(mapped), MAPS_PER_ROW):
        for column, run in zip(st.columns(MAPS_PER_ROW), mapped[start:start + MAPS_PER_ROW]):
            predictions = run.predictions
            positions = np.flatnonzero(predictions.ids == image_id)
            if not len(positions):
                continue
            predicted = int(predictions.predicted[positions[0]])
            true_index = int(predictions.labels[positions[0]])
            column.markdown(f"**{run.label}**")
            where_it_looked(column, run, pixels, predicted, f"its pick, {run.class_names[predicted]}", size=192)
            if predicted != true_index:
                where_it_looked(column, run, pixels, true_index, f"the true class, {true_class}", size=192)


def gallery(table, run: Run, runs: list, *, page_size: int, key: str, describe, empty: str,
            button: str = "Open", per_row: int = 4, extra=None) -> None:
    """Pages of test-image cards, `per_row` abreast, each with a button opening every run's view of the image.

    Args:
        table: one row per image of `run`'s test set, in the order shown, with at least "id" and "true"
            (its class name); when it is empty, the `empty` message is shown instead, as a note: an empty
            gallery is no news, good or bad (a page says so itself where it is).
        runs: the runs whose view of an image its button shows.
        describe: (position, row) -> (a markdown line, a caption) written under the image.
        key: names this gallery's choice of page, so another gallery or filter starts again at page 1.
        extra: (position, row) -> None, drawing more of a card under its button (the Suspect labels page's
            verdicts).
    """
    if table.empty:
        st.info(empty)
        return
    images = test_images(run)
    if images is None:
        return
    pages = samples.page_count(len(table), page_size)
    page = st.number_input(f"Page (of {pages})", 1, pages, 1, key=f"page:{key}:{page_size}") if pages > 1 else 1
    shown = table.iloc[samples.page_slice(page, page_size)]
    for start in range(0, len(shown), per_row):
        row = shown.iloc[start:start + per_row]
        for column, pixels, (position, sample) in zip(st.columns(per_row), images.select(row["id"]), row.iterrows()):
            with column, st.container(border=True):
                st.image(samples.upscale(pixels))
                line, caption = describe(position, sample)
                st.markdown(line)
                st.caption(caption)
                if st.button(button, key=f"open:{sample['id']}", icon=":material/zoom_in:"):
                    _every_runs_view(images, runs, sample["id"], sample["true"])
                if extra is not None:
                    extra(position, sample)
