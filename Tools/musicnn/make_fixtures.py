#!/usr/bin/env python3
"""Run the musicnn 0.1.0 TensorFlow reference on the project's test clips and write golden
fixtures for the Swift tests (development-only tool; see Tools/README.md).

Outputs (relative to the repository root):

    Tests/MusicTaggingTests/Fixtures/musicnn/<clip>.<model>.safetensors
        for piano, rock (MTT and MSD), strings (Fixtures/audio/) and demo (Examples/demo.wav;
        its per-frame tensors are zero-sized, P = 0):
        mel          [frames, 96]          log10(1 + 10000 * float16(mel power)), whole clip
        mel_linear   [frames, 96]          mel power before the float16 cast (piano.MTT only)
        taggram      [windows, 50]         sigmoid outputs per 187-frame window
        logits       [windows, 50]         the same before the sigmoid
        max_pool     [windows, 753]        max over time of [front-end 561, cnn1, cnn2, cnn3]
                                           (the dense layer sees max/mean INTERLEAVED, see README)
        mean_pool    [windows, 753]        mean over time of the same
        penultimate  [windows, 200]        BN(ReLU(dense)) before the output layer
        timbral      [P, 187, 408]         per frame, only for the windows in per_frame_windows
        temporal     [P, 187, 153]
        cnn1, cnn2, cnn3 [P, 187, 64]
    Tests/AudioIOTests/Fixtures/stereo44k.librosa16k.safetensors
        samples      [n]                   librosa.load(stereo44k.wav, sr=16000, mono=True)

The mel and the windows are computed exactly as musicnn does (`musicnn.extractor.batch_data`,
re-derived independently here and asserted equal). The network is musicnn's own graph
(`musicnn.models.define_model`), restored from the package's checkpoint by prefix, and every
variable is checked against the checkpoint after the restore (the package itself silently runs
random weights when the restore fails). Windows are fed one at a time, like the package does.
The package's `extractor()` is then run too and its taggram/max_pool/mean_pool/timbral/temporal
must agree (its cnn1..3/penultimate are only right for window 0: a bug in its loop).

    TF_USE_LEGACY_KERAS=1 .venv-ref/bin/python Tools/musicnn/make_fixtures.py
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import warnings  # noqa: E402

import numpy as np  # noqa: E402

warnings.filterwarnings("ignore", category=UserWarning, message=r".*is deprecated.*")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import st_writer  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
AUDIO_DIR = REPO_ROOT / "Tests" / "MusicTaggingTests" / "Fixtures" / "audio"
OUT_DIR = REPO_ROOT / "Tests" / "MusicTaggingTests" / "Fixtures" / "musicnn"
AUDIOIO_DIR = REPO_ROOT / "Tests" / "AudioIOTests" / "Fixtures"
MODELS_DIR = REPO_ROOT / "Models" / "musicnn"
PRODUCER = "Tools/musicnn/make_fixtures.py"

SR, HOP_LENGTH, N_FFT, N_MELS = 16000, 256, 512, 96
N_FRAMES = 187      # 3 s windows: librosa.time_to_frames(3, sr, hop, n_fft) + 1
WINDOW_HOP = 187    # musicnn's default input_overlap=False

# Which fixtures to make: clip stem -> (audio file, models, store per-frame tensors?).
JOBS = {
    "piano": (AUDIO_DIR / "piano.wav", ["MTT_musicnn"], True),
    "rock": (AUDIO_DIR / "rock.wav", ["MTT_musicnn", "MSD_musicnn"], True),
    "strings": (AUDIO_DIR / "strings.wav", ["MTT_musicnn"], True),
    # The README's example file: per-frame tensors are stored zero-sized ([0, 187, C]).
    "demo": (REPO_ROOT / "Examples" / "demo.wav", ["MTT_musicnn"], False),
}
MEL_LINEAR_FOR = ("piano", "MTT_musicnn")

PER_WINDOW = ("taggram", "logits", "max_pool", "mean_pool", "penultimate")
PER_FRAME = ("timbral", "temporal", "cnn1", "cnn2", "cnn3")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("tensorflow", "tf_keras", "librosa", "numpy", "musicnn", "soxr", "scipy", "soundfile",
                "safetensors"):
        out[pkg] = importlib.metadata.version(pkg)
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------------
# Input representation.
# ---------------------------------------------------------------------------------------------

def reference_input(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mel_linear [frames, 96], mel [frames, 96], batch [windows, 187, 96]) for one clip."""
    import librosa
    from musicnn import configuration as config
    from musicnn import extractor

    assert (config.SR, config.FFT_HOP, config.FFT_SIZE, config.N_MELS) == (SR, HOP_LENGTH, N_FFT, N_MELS)
    n_frames = librosa.time_to_frames(3, sr=SR, n_fft=N_FFT, hop_length=HOP_LENGTH) + 1
    assert n_frames == N_FRAMES, n_frames

    # 1. The package's own code path.
    batch, audio_rep = extractor.batch_data(str(path), N_FRAMES, WINDOW_HOP)

    # 2. Re-derived step by step (also gives the mel power before the float16 cast).
    y, sr = librosa.load(str(path), sr=SR)
    assert sr == SR and y.dtype == np.float32
    mel_linear = librosa.feature.melspectrogram(y=y, sr=SR, hop_length=HOP_LENGTH, n_fft=N_FFT,
                                                n_mels=N_MELS).T
    assert mel_linear.dtype == np.float32
    mel16 = mel_linear.astype(np.float16)
    assert np.all(np.isfinite(mel16)), "mel power overflows float16"
    mel = np.log10(10000 * mel16 + 1)
    # numpy 1.x promotes float16 * 10000 to float32 (numpy 2 would keep float16 and overflow).
    assert mel.dtype == np.float32, f"log-mel computed in {mel.dtype}: need numpy 1.x"
    assert np.array_equal(mel, audio_rep), "re-derived log-mel differs from musicnn's"

    n_windows = (mel.shape[0] - N_FRAMES) // WINDOW_HOP + 1
    assert batch.shape == (n_windows, N_FRAMES, N_MELS), batch.shape
    for w in range(n_windows):
        assert np.array_equal(batch[w], mel[w * WINDOW_HOP: w * WINDOW_HOP + N_FRAMES])
    return mel_linear, mel, batch


# ---------------------------------------------------------------------------------------------
# The TensorFlow reference network.
# ---------------------------------------------------------------------------------------------

class Reference:
    """musicnn's graph (models.define_model) with the checkpoint restored and verified."""

    def __init__(self, model: str):
        import tensorflow as tf
        import musicnn
        from musicnn import configuration as config
        from musicnn import models

        self.model = model
        self.labels = list(config.MTT_LABELS if model.startswith("MTT") else config.MSD_LABELS)
        assert len(self.labels) == 50
        prefix = str(Path(musicnn.__file__).parent / model) + "/"  # load by prefix

        self.graph = tf.Graph()
        with self.graph.as_default():
            with tf.name_scope("model"):  # as in musicnn.extractor
                self.x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, N_MELS])
                self.is_training = tf.compat.v1.placeholder(tf.bool)
                (logits, timbral, temporal, cnn1, cnn2, cnn3, mean_pool, max_pool,
                 penultimate) = models.define_model(self.x, self.is_training, model, len(self.labels))
                taggram = tf.nn.sigmoid(logits)
            self.fetch = {"taggram": taggram, "logits": logits, "timbral": timbral,
                          "temporal": temporal, "cnn1": cnn1, "cnn2": cnn2, "cnn3": cnn3,
                          "mean_pool": mean_pool, "max_pool": max_pool, "penultimate": penultimate}
            variables = tf.compat.v1.global_variables()
            self.sess = tf.compat.v1.Session(graph=self.graph)
            # No try/except: a failed restore must stop us (the package swallows it).
            tf.compat.v1.train.Saver().restore(self.sess, prefix)
            values = self.sess.run({v.op.name: v for v in variables})

        # Assert the restore really happened: every graph variable equals the checkpoint's.
        reader = tf.compat.v1.train.NewCheckpointReader(prefix)
        assert len(values) == 64, f"graph has {len(values)} variables, expected 64"
        for name, value in values.items():
            assert np.array_equal(value, reader.get_tensor(name)), f"{model}: {name} not restored"
        # ... and equals the converted weights the Swift code loads, when they exist.
        st_path = MODELS_DIR / f"{model}.safetensors"
        if st_path.is_file():
            from safetensors.numpy import load_file

            converted = load_file(str(st_path))
            assert set(converted) == set(values), "converted safetensors has different tensors"
            for name, value in values.items():
                assert np.array_equal(converted[name], value), f"{st_path.name}: {name} differs"
            self.weights_checked = rel(st_path)
        else:
            self.weights_checked = ""
            print(f"warning: {st_path} missing; run convert_checkpoint.py first", file=sys.stderr)

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Feed the windows one at a time (as musicnn does, BATCH_SIZE = 1)."""
        per_window: dict[str, list[np.ndarray]] = {k: [] for k in self.fetch}
        for w in range(batch.shape[0]):
            out = self.sess.run(self.fetch, feed_dict={self.x: batch[w:w + 1], self.is_training: False})
            for k, v in out.items():
                per_window[k].append(v[0])
        res = {k: np.stack(v).astype(np.float32) for k, v in per_window.items()}
        n = batch.shape[0]
        # Graph shapes: timbral/temporal come out as [batch, time, channels] (the frequency axis
        # was max-pooled to 1 and squeezed inside the graph); cnn1..3 as [batch, time, 64, 1].
        assert res["timbral"].shape == (n, N_FRAMES, 408)
        assert res["temporal"].shape == (n, N_FRAMES, 153)
        for k in ("cnn1", "cnn2", "cnn3"):
            assert res[k].shape == (n, N_FRAMES, 64, 1)
            res[k] = res[k][..., 0]
        assert res["max_pool"].shape == res["mean_pool"].shape == (n, 753)
        assert res["penultimate"].shape == (n, 200)
        assert res["taggram"].shape == res["logits"].shape == (n, 50)
        for k, v in res.items():
            assert np.all(np.isfinite(v)), f"non-finite values in {k}"
        return res


def crosscheck_with_extractor(path: Path, model: str, ref: dict[str, np.ndarray]) -> dict[str, str]:
    """Run the package's extractor unmodified and compare. Returns diffs for the metadata."""
    from musicnn import extractor

    with contextlib.redirect_stdout(io.StringIO()):
        taggram, labels, feats = extractor.extractor(str(path), model=model, input_length=3,
                                                     input_overlap=False, extract_features=True)
    n = ref["taggram"].shape[0]
    diffs = {
        "taggram": np.abs(taggram - ref["taggram"]).max(),
        "max_pool": np.abs(feats["max_pool"] - ref["max_pool"]).max(),
        "mean_pool": np.abs(feats["mean_pool"] - ref["mean_pool"]).max(),
        "timbral": np.abs(feats["timbral"] - ref["timbral"].reshape(n * N_FRAMES, -1)).max(),
        "temporal": np.abs(feats["temporal"] - ref["temporal"].reshape(n * N_FRAMES, -1)).max(),
        "cnn1_window0": np.abs(feats["cnn1"][:N_FRAMES] - ref["cnn1"][0]).max(),
        "penultimate_window0": np.abs(feats["penultimate"][0] - ref["penultimate"][0]).max(),
    }
    for k, d in diffs.items():
        assert d <= 1e-5, f"{path.name} {model}: extractor disagrees on {k} by {d}"
    # Document the package bug we work around: its cnn1 for window 1 repeats window 0.
    if n > 1:
        bug = np.array_equal(feats["cnn1"][N_FRAMES:2 * N_FRAMES], feats["cnn1"][:N_FRAMES])
        ours_differ = not np.allclose(ref["cnn1"][1], ref["cnn1"][0])
        print(f"  extractor cnn1 window 1 == window 0: {bug} (ours differ: {ours_differ})")
    return {k: f"{float(v):.3g}" for k, v in diffs.items()}


# ---------------------------------------------------------------------------------------------

def make_clip_fixtures(stem: str, refs: dict, per_frame_windows: list[int],
                       common_meta: dict[str, str]) -> None:
    path, models_, with_per_frame = JOBS[stem]
    if not with_per_frame:
        per_frame_windows = []
    mel_linear, mel, batch = reference_input(path)
    n_windows = batch.shape[0]
    pf = [w for w in per_frame_windows if w < n_windows]
    for model in models_:
        if model not in refs:
            refs[model] = Reference(model)
        ref = refs[model]
        out = ref.run(batch)
        diffs = crosscheck_with_extractor(path, model, out)

        tensors: dict[str, np.ndarray] = {"mel": mel}
        if (stem, model) == MEL_LINEAR_FOR:
            tensors["mel_linear"] = mel_linear
        for k in PER_WINDOW:
            tensors[k] = out[k]
        for k in PER_FRAME:  # zero-sized [0, 187, C] when no window is stored
            tensors[k] = out[k][pf]
        tensors = {k: np.ascontiguousarray(v, dtype="<f4") for k, v in tensors.items()}

        meta = dict(common_meta)
        meta.update({
            "clip": rel(path),
            "clip_sha256": sha256(path),
            "model": model,
            "tags": json.dumps(ref.labels, ensure_ascii=False),
            "weights": ref.weights_checked,
            "n_frames": str(N_FRAMES),
            "hop_frames": str(WINDOW_HOP),
            "n_windows": str(n_windows),
            "n_mel_frames": str(mel.shape[0]),
            "window_start_frames": json.dumps([w * WINDOW_HOP for w in range(n_windows)]),
            "per_frame_windows": json.dumps(pf),
            "tensors": json.dumps({k: list(v.shape) for k, v in tensors.items()}),
            "extractor_max_abs_diff": json.dumps(diffs),
        })
        out_path = OUT_DIR / f"{stem}.{model}.safetensors"
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        st_writer.save(out_path, tensors, meta)
        st_writer.verify(out_path, tensors, meta)
        mean_tags = out["taggram"].mean(0)
        top = np.argsort(-mean_tags)[:5]
        print(f"{rel(out_path)}: {out_path.stat().st_size} bytes, {n_windows} windows; top-5: "
              + ", ".join(f"{ref.labels[i]} {mean_tags[i]:.3f}" for i in top))


def make_stereo_fixture(common_meta: dict[str, str]) -> None:
    import librosa
    import soundfile as sf

    path = AUDIO_DIR / "stereo44k.wav"
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (44100, 2, "PCM_16"), info
    samples, sr = librosa.load(str(path), sr=16000, mono=True)  # default res_type: soxr_hq
    assert sr == 16000 and samples.dtype == np.float32 and samples.ndim == 1
    import inspect

    res_type = inspect.signature(librosa.load).parameters["res_type"].default
    meta = {k: v for k, v in common_meta.items() if k.startswith("version_") or k == "producer"}
    meta.update({
        "clip": rel(path),
        "clip_sha256": sha256(path),
        "source_sample_rate": str(info.samplerate),
        "source_channels": str(info.channels),
        "source_frames": str(info.frames),
        "sample_rate": "16000",
        "n_samples": str(samples.shape[0]),
        "reference": f"librosa.load(path, sr=16000, mono=True), res_type={res_type!r} (default): "
                     "soundfile decode to float32 (int16 / 32768), downmix = mean of the channels "
                     "(librosa.to_mono) at 44.1 kHz, then soxr resampling to 16 kHz",
        "res_type": res_type,
    })
    out_path = AUDIOIO_DIR / "stereo44k.librosa16k.safetensors"
    AUDIOIO_DIR.mkdir(parents=True, exist_ok=True)
    tensors = {"samples": np.ascontiguousarray(samples, dtype="<f4")}
    st_writer.save(out_path, tensors, meta)
    st_writer.verify(out_path, tensors, meta)
    print(f"{rel(out_path)}: {out_path.stat().st_size} bytes, {samples.shape[0]} samples ({res_type})")


def main() -> None:
    ap = argparse.ArgumentParser(description="Write musicnn golden fixtures.")
    ap.add_argument("--clips", nargs="+", default=list(JOBS), choices=list(JOBS), help="clip stems")
    ap.add_argument("--per-frame-windows", default="0,1",
                    help="windows whose per-frame tensors are stored (comma-separated)")
    ap.add_argument("--skip-numpy-check", action="store_true",
                    help="do not re-check the fixtures with numpy_forward.py")
    args = ap.parse_args()
    per_frame_windows = [int(w) for w in args.per_frame_windows.split(",") if w != ""]

    import librosa

    v = versions()
    mel_defaults = "center=True, pad_mode='constant' (zeros), window='hann', power=2.0, htk=False, norm='slaney', fmin=0, fmax=8000"
    common_meta = {f"version_{k}": val for k, val in v.items()}
    common_meta.update({
        "producer": PRODUCER,
        "command": "TF_USE_LEGACY_KERAS=1 .venv-ref/bin/python Tools/musicnn/make_fixtures.py",
        "reference": "musicnn 0.1.0 graph (musicnn.models.define_model), checkpoint restored by "
                     "prefix and verified variable by variable; windows fed one at a time, "
                     "is_training=False; cross-checked against musicnn.extractor.extractor",
        "mel": f"librosa.load(sr=16000) -> librosa.feature.melspectrogram(y, sr=16000, "
               f"hop_length=256, n_fft=512, n_mels=96) [librosa {librosa.__version__} defaults: "
               f"{mel_defaults}] -> transpose to [frames, 96] -> astype(float16) -> "
               f"np.log10(10000 * x + 1) computed in float32 (numpy 1.x promotion)",
        "mel_linear": "mel power before the float16 cast, [frames, 96] (piano.MTT_musicnn only)",
        "windows": "window w = mel[w*hop_frames : w*hop_frames + n_frames]; the trailing partial "
                   "window is dropped",
        "layout_per_window": "taggram, logits [windows, 50]; max_pool, mean_pool [windows, 753]; "
                             "penultimate [windows, 200]",
        "layout_per_frame": "timbral, temporal, cnn1, cnn2, cnn3: [len(per_frame_windows), time=187, "
                            "channels], i.e. the TF graph tensors [batch, time, channels] (frequency "
                            "axis already max-pooled and squeezed in the graph; cnn1..3 are "
                            "[batch, time, 64, 1] in TF and squeezed here); index i holds window "
                            "per_frame_windows[i]",
        "channels_timbral": "0..203 conv2d (7x38) branch, 204..407 conv2d_1 (7x67) branch",
        "channels_temporal": "0..50 conv2d_2 (128x1), 51..101 conv2d_3 (64x1), 102..152 conv2d_4 (32x1)",
        "channels_pool": "max_pool/mean_pool: 0..407 timbral, 408..560 temporal, 561..624 cnn1, "
                         "625..688 cnn2, 689..752 cnn3; the 1506 dense inputs INTERLEAVE them: "
                         "[max_pool[0], mean_pool[0], max_pool[1], mean_pool[1], ...]",
        "cnn": "cnn1 = BN6(ReLU(conv2d_5(front))), cnn2 = BN7(ReLU(conv2d_6(cnn1))) + cnn1, "
               "cnn3 = BN8(ReLU(conv2d_7(cnn2))) + cnn2",
        "penultimate": "BN10(ReLU(dense(BN9(interleave(max_pool, mean_pool))))); taggram = "
                       "sigmoid(dense_1(penultimate)) = sigmoid(logits)",
    })

    refs: dict = {}
    for stem in args.clips:
        make_clip_fixtures(stem, refs, per_frame_windows, common_meta)
    make_stereo_fixture(common_meta)

    if not args.skip_numpy_check:
        import numpy_forward

        cache: dict = {}
        for stem in args.clips:
            for model in JOBS[stem][1]:
                p = OUT_DIR / f"{stem}.{model}.safetensors"
                err = numpy_forward.check_fixture(p, cache)
                print(f"numpy float64 re-implementation vs {p.name}: max normalized error {err:.2e}")


if __name__ == "__main__":
    main()
