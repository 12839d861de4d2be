"""What the dashboard's pages show, computed without Streamlit, except the modules named for what they share
through it: `selection` (the store, the sidebar's run selection, page guards), `pickers`, `caches` (test images,
models, test-set maps), `model_outputs` (uploads, class probabilities, where a model looked), `gallery` and
`in_progress`."""
