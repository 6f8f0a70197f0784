import os
import sys

# Before anything imports TensorFlow (via bnlib.keras_ref): no C++ log lines, no oneDNN reordering.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import pytest
from hypothesis import settings  # after the environment above, as TensorFlow may load with it

# CI must not turn red on a property example nobody has seen before: there the examples are derived from
# the test itself (the same every run). Locally, each run explores new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


# Hostile submission notebooks: graded by tests/grading/test_grading_fixtures.py, never run by nbval.
collect_ignore_glob = ["grading/fixtures/*"]


def pytest_collection_modifyitems(config, items):
    """Markers that follow from what a test needs (see pyproject.toml for the list).

    nbval's items re-run a chapter in a kernel: every chapter runs Keras and takes seconds.
    """
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker("keras")
            item.add_marker("slow")


@pytest.fixture(autouse=True)
def _keras_marker_is_honest(request):
    """The test that first loads TensorFlow into this process must carry the ``keras`` marker.

    So ``-m "not keras"`` really runs without TensorFlow: with that selection every test is checked.
    """
    loaded = "tensorflow" in sys.modules
    yield
    if not loaded and "tensorflow" in sys.modules and request.node.get_closest_marker("keras") is None:
        pytest.fail(f"{request.node.nodeid} loads TensorFlow: mark it @pytest.mark.keras", pytrace=False)
