import os

# Same quiet-TensorFlow settings as the Makefile, for runs of pytest outside make;
# kernels started by the tests inherit them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
