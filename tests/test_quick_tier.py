"""What keeps the quick tier (`pytest -m "not slow"`) quick: Streamlit's scan for components, run once a session, and
the objects collection imported, out of the garbage collector's reach (both set up in conftest.py)."""

from __future__ import annotations

import gc


def test_opening_the_dashboard_twice_scans_the_installed_packages_for_components_once(open_app, tmp_path):
    """conftest's `components_scanned_once` keeps the scan's first answer; opening a page is then mostly running
    it. This fails when Streamlit stops scanning through that function, and every AppTest scans again."""
    from streamlit.components.v2 import manifest_scanner

    scan = manifest_scanner.scan_component_manifests
    open_app(tmp_path)
    asked = scan.cache_info()
    open_app(tmp_path)
    assert scan.cache_info().hits == asked.hits + 1 and scan.cache_info().misses == asked.misses <= 1


def test_what_collection_imported_is_frozen_out_of_garbage_collection():
    assert gc.get_freeze_count() > 0  # conftest's pytest_collection_finish
