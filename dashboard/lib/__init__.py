"""What the dashboard's pages show, computed without Streamlit, except the modules named for what they share
through it: `store_location` (the store, or a bucket's mirror), `store_cache` (its runs, read once per change),
`sidebar` (the run selection every page shares, with `ensemble_choice` and `report_download`), `page_guards` (what
a page checks of the runs chosen), `pickers`, `caches` (test images, models, test-set maps), `model_outputs`
(uploads, class probabilities, where a model looked), `gallery`, `in_progress`; and `process_settings` (with
`keras_session`), applied once as the server starts."""
