"""Tags one audio file with the TensorFlow musicnn reference and reports where the time goes.

Development-only (runs in the reference virtualenv, see Tools/README.md). Prints one JSON object:
import_seconds (TensorFlow + musicnn import), preprocess_seconds (librosa load + mel, the package's
`batch_data`), network_seconds (the rest of `extractor`: graph, checkpoint restore, inference),
windows, and the mean taggram so the caller can compare tags with the Swift implementation.
"""
import json
import os
import sys
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

started = time.perf_counter()
from musicnn import configuration  # noqa: E402
from musicnn.extractor import batch_data, extractor  # noqa: E402
imported = time.perf_counter()

path = sys.argv[1]
model = sys.argv[2] if len(sys.argv) > 2 else "MTT_musicnn"
n_frames = 187

t0 = time.perf_counter()
batch, _ = batch_data(path, n_frames, n_frames)
preprocess = time.perf_counter() - t0

t0 = time.perf_counter()
taggram, tags = extractor(path, model=model, input_length=3, input_overlap=False, extract_features=False)
total_extractor = time.perf_counter() - t0

print(json.dumps({
    "import_seconds": imported - started,
    "preprocess_seconds": preprocess,
    "network_seconds": max(total_extractor - preprocess, 0.0),
    "extractor_seconds": total_extractor,
    "windows": int(taggram.shape[0]),
    "tags": list(tags),
    "taggram": taggram.tolist(),
}))
