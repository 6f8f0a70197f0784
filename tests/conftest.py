import os

# Before anything imports TensorFlow (via bnlib.keras_ref): no C++ log lines, no oneDNN reordering.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
