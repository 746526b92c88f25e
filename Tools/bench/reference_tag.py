"""Tags one audio file with the TensorFlow musicnn reference and reports where the time goes.

Usage: reference_tag.py AUDIO [MODEL] [--breakdown]. Without --breakdown the process does only what a
user does (import, `extractor`), so it can be timed from outside; with it, it also times the stages.
Development-only (runs in the reference virtualenv, see Tools/README.md). Prints one JSON object:
import_seconds (TensorFlow + musicnn import), extractor_seconds (the package's `extractor` as a user
calls it, cold), preprocess_seconds (librosa load + mel, `batch_data`, warm), the network's median and
mean time per window (graph fed one window at a time, as the package does, first window excluded),
and the taggram so the caller can compare tags with the Swift implementation.
"""
import json
import os
import sys
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

started = time.perf_counter()
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from musicnn import configuration as config  # noqa: E402
from musicnn import models  # noqa: E402
from musicnn.extractor import batch_data, extractor  # noqa: E402
imported = time.perf_counter()

path = sys.argv[1]
breakdown = "--breakdown" in sys.argv[2:]
model = next((a for a in sys.argv[2:] if not a.startswith("--")), "MTT_musicnn")
n_frames = 187

# What a user runs: the package's extractor, cold (librosa load + mel, graph, restore, inference).
t0 = time.perf_counter()
taggram, tags = extractor(path, model=model, input_length=3, input_overlap=False, extract_features=False)
extractor_seconds = time.perf_counter() - t0

if not breakdown:
    # End to end only: what the caller times from the outside, nothing else in this process.
    print(json.dumps({"import_seconds": imported - started, "extractor_seconds": extractor_seconds,
                      "windows": int(taggram.shape[0]), "tags": list(tags), "taggram": taggram.tolist()}))
    sys.exit(0)

# Preprocessing alone, warm (librosa's first call also pays its own imports and numba compilation).
t0 = time.perf_counter()
batch, _ = batch_data(path, n_frames, n_frames)
preprocess = time.perf_counter() - t0

# The network alone: the same graph, restored, fed one window at a time as the package does.
import musicnn  # noqa: E402
graph = tf.Graph()
with graph.as_default():
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, n_frames, config.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        logits = models.define_model(x, is_training, model, len(tags))[0]
        probabilities = tf.nn.sigmoid(logits)
    session = tf.compat.v1.Session(graph=graph)
    tf.compat.v1.train.Saver().restore(session, os.path.join(os.path.dirname(musicnn.__file__), model) + "/")
window_seconds = []
for w in range(batch.shape[0]):
    t0 = time.perf_counter()
    session.run(probabilities, feed_dict={x: batch[w:w + 1], is_training: False})
    window_seconds.append(time.perf_counter() - t0)
steady = sorted(window_seconds[1:]) or window_seconds

print(json.dumps({
    "import_seconds": imported - started,
    "extractor_seconds": extractor_seconds,
    "preprocess_seconds": preprocess,
    "network_window_ms_median": 1000 * steady[len(steady) // 2],
    "network_window_ms_mean": 1000 * float(np.mean(steady)),
    "windows": int(taggram.shape[0]),
    "tags": list(tags),
    "taggram": taggram.tolist(),
}))
