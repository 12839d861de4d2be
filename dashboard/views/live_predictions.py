"""Live predictions: every selected model classifies uploaded, photographed or test images side by side, whole or
cropped to a square the user drags."""

import numpy as np
import streamlit as st
from PIL import Image
from streamlit_cropper import st_cropper

from dashboard.lib import caches, live, model_outputs, page_guards, samples
from trainers.inference.image_files import FORMAT_NAMES
from trainers.inference.pixels import image_to_pixels

ANSWERS_PER_ROW = 4  # models abreast: each one's pick and top-k, and under them all, where each looked


st.title("Live predictions")
selected = page_guards.selected_runs()
runs = selected[:caches.MAX_MODELS]
if len(selected) > len(runs):
    st.caption(f"The first {len(runs)} of the {len(selected)} runs selected classify the images: select fewer in "
               "the sidebar to choose which.")
for run in runs:  # said before any upload: a run recorded from its predictions alone classifies nothing here
    if caches.no_model(run):
        st.info(caches.no_model(run))
classes = runs[0].class_names

# The inputs abreast, so that the models' answers reach the first screen. Any file: the browser's own type filter
# would refuse a photo by its name with no word said; the page says in one line what a file it cannot read is.
upload_column, test_column, k_column = st.columns(3)
uploads = upload_column.file_uploader("Upload images", accept_multiple_files=True,
                                      max_upload_size=live.MAX_UPLOAD_MB,
                                      help=f"{FORMAT_NAMES}, up to {live.MAX_UPLOAD_MB} MB and "
                                           f"{live.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels each.")
use_camera = upload_column.toggle("Use the camera")
test_images = caches.test_images(runs[0])
test_id = None
if test_images is not None:
    true_class = dict(zip(test_images.ids.tolist(), test_images.labels.tolist()))
    test_id = test_column.selectbox("Or pick a test image", list(true_class), index=None,
                                    placeholder="Choose a test image",
                                    format_func=lambda image_id: f"{image_id} (true class: "
                                                                 f"{classes[true_class[image_id]]})")
k = k_column.slider("Classes shown per model (top-k)", 1, len(classes), min(3, len(classes)))
# The camera asks the browser for permission, so it only starts when asked for; at full width, as a viewfinder.
photo = st.camera_input("Take a photo") if use_camera else None

images = []
for upload in [*(uploads or []), *([photo] if photo else [])]:
    try:
        images.append((upload.name, model_outputs.decoded_upload(upload)))
    except live.UploadError as error:
        st.error(str(error))
if test_id is not None:
    test_image = Image.fromarray(test_images.select([test_id])[0])
    images.append((f"test image {test_id}, true class {classes[true_class[test_id]]}",
                   live.DecodedImage(test_image, test_image.size)))
known_classes = {len(images) - 1: true_class[test_id]} if test_id is not None else {}
if not images:
    st.info("Upload an image, take a photo or pick a test image: every selected model will classify it.")
    st.stop()

loaded = {}  # the runs whose models are loaded, by label
with st.spinner("Loading the models…"):
    for run in runs:
        if caches.no_model(run):  # said at the top of the page
            continue
        try:
            caches.model(run)
            loaded[run.label] = run
        except Exception as error:  # noqa: BLE001 - one unloadable model must not hide the others
            st.error(f"The model of {run.label} cannot be loaded: {error}")
if not loaded:
    st.stop()

sizes = sorted({run.image_size for run in loaded.values()})
crop_help = (f"The models see the whole image squashed to a small square ({' or '.join(map(str, sizes))} px a side): "
             "crop to what you want classified so that it fills their view.")
# A section per image, filled in two passes: its crop box first, then, once each model has seen every image
# (cropped or whole), the models' answers, with the image as they see it beside them, and the table of picks.
sections, seen_images, cropped = [], [], []
for number, (name, decoded) in enumerate(images):
    with st.container():
        st.subheader(name)
        for note in decoded.notes:
            st.caption(note)
        cropper = st.container()  # at full width, above the answers: a box to drag needs room
        answers, beside = st.columns([3, 1])  # the answers lead; the image as the models see it, beside them
        sections.append((answers, beside.container(), st.container()))
    cropping = live.croppable(decoded.image.size, max(sizes)) and beside.toggle(
        "Crop", key=f"crop_on:{number}:{name}", help=crop_help)
    if cropping:
        # A square box: the models squash what they see into a square, so a square crop reaches them undistorted.
        with cropper:
            box = st_cropper(decoded.image, default_coords=live.corners(live.default_crop(decoded.image.size)),
                             aspect_ratio=(1, 1), box_color="#ff4b4b", return_type="box", key=f"crop:{number}:{name}")
    seen_images.append(live.crop(decoded.image, box) if cropping else decoded.image)
    cropped.append(cropping)

# Each model sees every image in one call: twenty uploads cost two calls with two models, not forty.
views = [{size: image_to_pixels(seen, size) for size in sizes} for seen in seen_images]
all_probabilities = {}
for label, run in loaded.items():
    try:
        all_probabilities[label] = model_outputs.class_probabilities(
            run, np.stack([view[run.image_size] for view in views]))
    except Exception as error:  # noqa: BLE001 - one failing model must not hide the others
        st.error(f"The model of {label} cannot classify these images: {error}")
if not all_probabilities:
    st.stop()

# Every model's answer first, then where each looked: the maps, computed last, fill the places kept for them.
maps = []  # (place, run, pixels, class index, caption, image number)
explained = []  # per image, the place of the sentence saying once what its maps are
for number, (answers, image_views, table) in enumerate(sections):
    decoded = images[number][1]
    probabilities = {label: vectors[number] for label, vectors in all_probabilities.items()}
    picks = live.picks_table(probabilities, classes, k=k)
    answers.markdown(live.agreement(picks))
    rows = [picks.iloc[start:start + ANSWERS_PER_ROW] for start in range(0, len(picks), ANSWERS_PER_ROW)]
    for row in rows:
        for column, pick in zip(answers.columns(ANSWERS_PER_ROW), row.itertuples()):
            column.markdown(f"**{pick.run}** picks **{pick.picks}** ({pick.probability:.1%})")
            for name, value in samples.top_k(probabilities[pick.run], classes, k=k):
                column.progress(float(value), text=f"{name}: {value:.1%}")
    for row in rows:
        for column, pick in zip(answers.columns(ANSWERS_PER_ROW), row.itertuples()):
            run = loaded[pick.run]
            pixels = views[number][run.image_size]
            predicted = int(np.argmax(probabilities[pick.run]))
            maps.append((column.empty(), run, pixels, predicted, f"its pick: {classes[predicted]}", number))
            if number in known_classes and known_classes[number] != predicted:
                true_index = known_classes[number]
                maps.append((column.empty(), run, pixels, true_index, f"true class: {classes[true_index]}", number))
    explained.append(answers.empty())

    if not cropped[number]:  # a crop box shows the whole image already
        width, height = decoded.original_size
        image_views.image(live.thumbnail(decoded.image), caption=f"uploaded, {width} x {height} px")
    for size, pixels in views[number].items():
        image_views.image(samples.upscale(pixels, live.THUMBNAIL_SIZE),
                          caption=live.model_view_caption(decoded, seen_images[number], size))
    table.dataframe(picks, hide_index=True,
                    column_config={"probability": st.column_config.NumberColumn(format="%.4f")})

methods = [{} for _ in images]  # per image, each run's method of drawing its maps
for place, run, pixels, class_index, caption, number in maps:
    method = model_outputs.where_it_looked(place, run, pixels, class_index, caption)
    if method:
        methods[number][run.label] = method
for place, drawn in zip(explained, methods):
    if drawn:
        place.caption(live.maps_explained(drawn))
