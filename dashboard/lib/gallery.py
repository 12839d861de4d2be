"""Galleries of test images in pages of cards, each opening a dialog with every selected run's view of the image."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.lib import live, samples
from dashboard.lib.caches import MAX_MODELS, test_images
from dashboard.lib.model_outputs import where_it_looked
from trainers.store.run_store import Run, TestImages

IMAGE_SIZE = 192  # px, about, of the image and each map in an image's dialog: a whole factor of the test image
ROW_SLOTS = 5  # places in the dialog's row at the least, so that the image and a few runs' maps keep their size


@st.dialog("The image", width="large")
def _every_runs_view(images: TestImages, runs: list, image_id: str, true_class: str) -> None:
    # One row answers on the first screen: the image, then where each run looked for its pick (and, when it is
    # wrong, for the true class), each map captioned in a few words; the method is said once, under the row.
    pixels = images.select([image_id])[0]
    table = samples.predictions_for_image(runs, image_id)
    st.markdown(f"`{image_id}`, true class **{true_class}**: {int(table['correct'].sum())} of {len(table)} "
                "selected runs get it right" + (f"; the first {MAX_MODELS} are mapped." if len(runs) > MAX_MODELS
                                                  else "."))
    mapped = [(run, position) for run in runs[:MAX_MODELS]  # a model each: more would be loaded again on every view
              for position in np.flatnonzero(run.predictions.ids == image_id)[:1]]
    image_column, *run_columns = st.columns(max(ROW_SLOTS, 1 + len(mapped)))
    height, width = pixels.shape[:2]
    image_column.image(samples.upscale(pixels, IMAGE_SIZE), caption=f"the image, {width} x {height} px")
    methods = {}
    for column, (run, position) in zip(run_columns, mapped):
        predictions = run.predictions
        predicted, true_index = int(predictions.predicted[position]), int(predictions.labels[position])
        shown = [(predicted, "its pick", float(predictions.confidence[position]))]
        if predicted != true_index:
            shown.append((true_index, "true class", float(predictions.probabilities[position, true_index])))
        column.markdown(f"**{run.label}** " + (":red[wrong]" if predicted != true_index else ":green[right]"))
        for class_index, role, probability in shown:
            name = run.class_names[class_index]
            method = where_it_looked(column, run, pixels, class_index, f"{role}: {name} {probability:.0%}",
                                     size=IMAGE_SIZE)
            if method:
                methods[run.label] = method
    if methods:
        st.caption(live.maps_explained(methods))
    st.dataframe(table, hide_index=True,
                 column_config={"confidence": st.column_config.NumberColumn(format="percent")})


def gallery(table, run: Run, runs: list, *, page_size: int, key: str, describe, empty: str,
            button: str | None = "Open", per_row: int = 4, extra=None, card_width: int = 220,
            url_parameter: str | None = None) -> None:
    """Pages of test-image cards, up to `per_row` abreast, each with a button opening every run's view of the image
    (none when `button` is None: images without a true class have no such view).

    The cards are `card_width` px wide (about 4 abreast beside the sidebar of a laptop's screen) and wrap: a narrow
    screen shows fewer abreast, whatever its width.

    Args:
        table: one row per image of `run`'s test set, in the order shown, with at least "id" and "true"
            (its class name); when it is empty, the `empty` message is shown instead, as a note: an empty
            gallery is no news, good or bad (a page says so itself where it is).
        runs: the runs whose view of an image its button shows.
        describe: (position, row) -> (a markdown line, a caption) written under the image.
        key: names this gallery's choice of page, so another gallery or filter starts again at page 1.
        extra: (position, row) -> None, drawing more of a card under its button (the Suspect labels page's
            verdicts).
        url_parameter: the URL's query parameter that carries the page shown, so that a shared link opens on it
            (None: the URL does not).
    """
    if url_parameter and table.empty:
        st.query_params.pop(url_parameter, None)
    if table.empty:
        st.info(empty)
        return
    images = test_images(run)
    if images is None:
        return
    pages = samples.page_count(len(table), page_size)
    page_key, in_url = f"page:{key}:{page_size}", f"page in the URL:{url_parameter}"
    first = 1
    # The URL's page is a link's (or a reload's) for this gallery, not a page of the gallery shown before a filter
    # changed: that one has written its key beside it.
    if url_parameter and page_key not in st.session_state and st.session_state.get(in_url, key) == key:
        named = st.query_params.get(url_parameter, "1")
        first = min(max(int(named), 1), pages) if named.isdigit() else 1
    page = st.number_input(f"Page (of {pages})", 1, pages, first, key=page_key, width=200) if pages > 1 else 1
    if url_parameter:
        st.session_state[in_url] = key
        if page > 1:
            st.query_params[url_parameter] = str(page)
        else:
            st.query_params.pop(url_parameter, None)
    shown = table.iloc[samples.page_slice(page, page_size)]
    gap = 16  # px, the "small" gap of Streamlit's containers
    cards = st.container(horizontal=True, width=per_row * card_width + (per_row - 1) * gap)
    for pixels, (position, sample) in zip(images.select(shown["id"]), shown.iterrows()):
        with cards.container(border=True, width=card_width):
            st.image(samples.upscale(pixels))
            line, caption = describe(position, sample)
            st.markdown(line)
            st.caption(caption)
            if button and st.button(button, key=f"open:{sample['id']}", icon=":material/zoom_in:"):
                _every_runs_view(images, runs, sample["id"], sample["true"])
            if extra is not None:
                extra(position, sample)
