"""Live predictions: every selected model classifies uploaded, photographed or test images side by side and says
when it finds none of its classes in one; several images make a table of a row each, and one of them is shown in
detail, whole or cropped to a square the user drags."""

import numpy as np
import streamlit as st
from PIL import Image
from streamlit_cropper import st_cropper

from dashboard.lib import caches, live, model_outputs, page_guards, samples
from trainers.inference.image_files import FORMAT_NAMES

ANSWERS_PER_ROW = 4  # models abreast: each one's pick and top-k, and under them all, where each looked
TABLE_ROW_PX, TABLE_HEADER_PX, TABLE_ROWS_SHOWN = 56, 40, 10  # several photos' table: a thumbnail a row, 10 in view


st.title("Live predictions")
selected = page_guards.selected_runs(needs_labels=False)  # an unlabelled set's images are classified as well
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
                                      help=f"One or many: {FORMAT_NAMES}, up to {live.MAX_UPLOAD_MB} MB and "
                                           f"{live.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels each.")
use_camera = upload_column.toggle("Use the camera")
test_images = caches.test_images(runs[0])
test_id = None
if test_images is not None:
    true_class = dict(zip(test_images.ids.tolist(), test_images.labels.tolist()))
    test_id = test_column.selectbox("Or pick a test image", list(true_class), index=None,
                                    placeholder="Choose a test image",
                                    format_func=lambda image_id: f"{image_id} "
                                                                 f"({live.true_class(true_class[image_id], classes)})")
k = k_column.slider("Classes shown per model (top-k)", 1, len(classes), min(3, len(classes)))
# The camera asks the browser for permission, so it only starts when asked for; at full width, as a viewfinder.
photo = st.camera_input("Take a photo") if use_camera else None

images = []  # (name, decoded image, what names it for good: the views and thumbnail are made once per key)
for upload in [*(uploads or []), *([photo] if photo else [])]:
    try:
        images.append((upload.name, model_outputs.decoded_upload(upload), upload.file_id))
    except live.UploadError as error:
        st.error(str(error))
known_classes = {}  # the true class of an image, by its number, where it has one of the runs' classes
if test_id is not None:
    test_image = Image.fromarray(test_images.select([test_id])[0])
    images.append((f"test image {test_id}, {live.true_class(true_class[test_id], classes)}",
                   live.DecodedImage(test_image, test_image.size), None))
    if true_class[test_id] >= 0:
        known_classes[len(images) - 1] = true_class[test_id]
if not images:
    st.info("Upload images, take a photo or pick a test image: every selected model will classify them.")
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
thresholds, without_threshold = model_outputs.thresholds(loaded.values())

# Several images: a row each in a table, then one of them, chosen under it, in detail; the newest at first.
names = live.photo_labels([name for name, _, _ in images])
shown = 0
if len(images) > 1:
    st.subheader(f"{len(images)} images")
    table_place = st.container()
    shown = st.selectbox("Shown in detail below", range(len(images)), index=len(images) - 1,
                         format_func=names.__getitem__)
name, decoded, shown_key = images[shown]

sizes = sorted({run.image_size for run in loaded.values()})
crop_help = (f"The models see the whole image squashed to a small square ({' or '.join(map(str, sizes))} px a side): "
             "crop to what you want classified so that it fills their view.")
st.subheader(name)
for note in decoded.notes:
    st.caption(note)
cropper = st.container()  # at full width, above the answers: a box to drag needs room
answers, beside = st.columns([3, 1])  # the answers lead; the image as the models see it, beside them
cropping = live.croppable(decoded.image.size, max(sizes)) and beside.toggle(
    "Crop", key=f"crop_on:{shown_key or name}", help=crop_help)
seen = decoded.image
if cropping:
    # A square box: the models squash what they see into a square, so a square crop reaches them undistorted.
    with cropper:
        box = st_cropper(decoded.image, default_coords=live.corners(live.default_crop(decoded.image.size)),
                         aspect_ratio=(1, 1), box_color="#ff4b4b", return_type="box",
                         key=f"crop:{shown_key or name}")
    seen = live.crop(decoded.image, box)

# Each model sees every image in one call, and only those it has not seen before: a later upload costs one image.
seen_images = [seen if number == shown else image.image for number, (_, image, _) in enumerate(images)]
keys = [None if number == shown and cropping else key for number, (_, _, key) in enumerate(images)]
views = [model_outputs.model_views(key, image, sizes) for key, image in zip(keys, seen_images)]
all_probabilities = {}
for label, run in loaded.items():
    try:
        all_probabilities[label] = model_outputs.class_probabilities(
            run, np.stack([view[run.image_size] for view in views]))
    except Exception as error:  # noqa: BLE001 - one failing model must not hide the others
        st.error(f"The model of {label} cannot classify these images: {error}")
if not all_probabilities:
    st.stop()

if len(images) > 1:
    thumbnails = [model_outputs.thumbnail_uri(key, image) for key, image in zip(keys, seen_images)]
    table = live.photos_table(names, thumbnails, all_probabilities, classes, thresholds)
    # The thumbnail and the name stay in view while a narrow screen scrolls through the models' columns.
    table_place.dataframe(
        table, hide_index=True, row_height=TABLE_ROW_PX,
        height=TABLE_HEADER_PX + TABLE_ROW_PX * min(len(table), TABLE_ROWS_SHOWN),
        column_config={live.PHOTO: st.column_config.ImageColumn(live.PHOTO, width="small", pinned=True),
                       live.FILE: st.column_config.TextColumn(live.FILE, pinned=True)})
    table_place.caption(live.thresholds_explained(thresholds, without_threshold, table=True))

# The shown image: every model's answer first, then where each looked: the maps, computed last, fill the places
# kept for them.
probabilities = {label: vectors[shown] for label, vectors in all_probabilities.items()}
picks = live.picks_table(probabilities, classes, k=k, thresholds=thresholds)
answers.markdown(live.agreement(picks))
rows = [picks.iloc[start:start + ANSWERS_PER_ROW] for start in range(0, len(picks), ANSWERS_PER_ROW)]
for row in rows:
    for column, pick in zip(answers.columns(ANSWERS_PER_ROW), row.itertuples()):
        column.markdown(f"**{pick.run}** picks **{pick.picks}** ({pick.probability:.1%})")
        threshold = thresholds[pick.run]
        if threshold is not None and threshold.finds_none(pick.probability):
            column.caption(f":orange[{live.none_found(pick.probability, threshold.value)}]")
        for class_name, value in samples.top_k(probabilities[pick.run], classes, k=k):
            column.progress(float(value), text=f"{class_name}: {value:.1%}")
if len(images) == 1:  # under the answers, once; several photos have it under their table
    answers.caption(live.thresholds_explained(thresholds, without_threshold))
maps = []  # (place, run, pixels, class index, caption)
for row in rows:
    for column, pick in zip(answers.columns(ANSWERS_PER_ROW), row.itertuples()):
        run = loaded[pick.run]
        pixels = views[shown][run.image_size]
        predicted = int(np.argmax(probabilities[pick.run]))
        maps.append((column.empty(), run, pixels, predicted, f"its pick: {classes[predicted]}"))
        if shown in known_classes and known_classes[shown] != predicted:
            true_index = known_classes[shown]
            maps.append((column.empty(), run, pixels, true_index, f"true class: {classes[true_index]}"))
maps_explained = answers.empty()

if not cropping:  # a crop box shows the whole image already
    width, height = decoded.original_size
    beside.image(live.thumbnail(decoded.image), caption=f"uploaded, {width} x {height} px")
for size, pixels in views[shown].items():
    beside.image(samples.upscale(pixels, live.THUMBNAIL_SIZE), caption=live.model_view_caption(decoded, seen, size))
st.dataframe(picks, hide_index=True, column_config={
    "probability": st.column_config.NumberColumn(format="%.4f"),
    live.THRESHOLD: st.column_config.NumberColumn(format="%.4f")})

methods = {}  # each run's method of drawing its maps
for place, run, pixels, class_index, caption in maps:
    method = model_outputs.where_it_looked(place, run, pixels, class_index, caption)
    if method:
        methods[run.label] = method
if methods:
    maps_explained.caption(live.maps_explained(methods))
