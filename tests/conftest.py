import os

# Before anything imports TensorFlow (via bnlib.keras_ref): no C++ log lines, no oneDNN reordering.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from hypothesis import settings  # noqa: E402  (after the environment above, as TensorFlow may load with it)

# CI must not turn red on a property example nobody has seen before: there the examples are derived from
# the test itself (the same every run). Locally, each run explores new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
