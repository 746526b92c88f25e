#!/usr/bin/env python3
"""Convert the musicnn 0.1.0 TensorFlow checkpoints to safetensors.

Development-only tool (see Tools/README.md). It reads the checkpoints that ship inside the
installed `musicnn` package (PyPI 0.1.0, ISC licence) and writes

    Models/musicnn/MTT_musicnn.safetensors
    Models/musicnn/MSD_musicnn.safetensors
    Models/musicnn/LICENSE      (musicnn's licence, verbatim from the package metadata)
    Models/musicnn/README.md    (provenance and the architecture facts the Swift code relies on)

Only the 64 inference variables are kept (conv/dense kernels and biases, batch-norm gamma/beta/
moving_mean/moving_variance); the Adam slots and beta1_power/beta2_power are dropped. Tensors
keep their TensorFlow names (`conv2d/kernel`, `batch_normalization_3/moving_mean`, ...) and
TensorFlow layouts ([time, freq, in, out] for convolutions, [in, out] for dense layers) and are
stored as little-endian float32.

Usage (from the repository root, in the reference venv):

    TF_USE_LEGACY_KERAS=1 .venv-ref/bin/python Tools/musicnn/convert_checkpoint.py
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import st_writer  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS = ("MTT_musicnn", "MSD_musicnn")
SOURCE = "musicnn 0.1.0 (PyPI), ISC licence"
CONVERTER = "Tools/musicnn/convert_checkpoint.py"
BN_EPSILON = 1e-3  # tf.compat.v1.layers.batch_normalization default

# Every variable needed at inference, with its TensorFlow shape. The order is the order in which
# musicnn's graph creates the layers (= the data flow), which is also the order used in README.md.
EXPECTED_LAYERS: list[tuple[str, str, tuple[int, ...], str]] = [
    # (layer name, kind, kernel shape or BN size, role)
    ("batch_normalization", "bn", (1,), "input BN on the log-mel [187, 96, 1]"),
    ("conv2d", "conv", (7, 38, 1, 204), "timbral branch 7x38 (time x mel), ReLU"),
    ("batch_normalization_1", "bn", (204,), "BN after conv2d, then max over the 59 mel positions"),
    ("conv2d_1", "conv", (7, 67, 1, 204), "timbral branch 7x67, ReLU"),
    ("batch_normalization_2", "bn", (204,), "BN after conv2d_1, then max over the 30 mel positions"),
    ("conv2d_2", "conv", (128, 1, 1, 51), "temporal branch 128x1 ('same'), ReLU"),
    ("batch_normalization_3", "bn", (51,), "BN after conv2d_2, then max over the 96 mel bins"),
    ("conv2d_3", "conv", (64, 1, 1, 51), "temporal branch 64x1 ('same'), ReLU"),
    ("batch_normalization_4", "bn", (51,), "BN after conv2d_3, then max over the 96 mel bins"),
    ("conv2d_4", "conv", (32, 1, 1, 51), "temporal branch 32x1 ('same'), ReLU"),
    ("batch_normalization_5", "bn", (51,), "BN after conv2d_4, then max over the 96 mel bins"),
    ("conv2d_5", "conv", (7, 561, 1, 64), "mid-end layer 1: 7-tap conv over time, 561 -> 64, ReLU"),
    ("batch_normalization_6", "bn", (64,), "BN after conv2d_5 -> cnn1"),
    ("conv2d_6", "conv", (7, 64, 1, 64), "mid-end layer 2, ReLU"),
    ("batch_normalization_7", "bn", (64,), "BN after conv2d_6, + cnn1 -> cnn2"),
    ("conv2d_7", "conv", (7, 64, 1, 64), "mid-end layer 3, ReLU"),
    ("batch_normalization_8", "bn", (64,), "BN after conv2d_7, + cnn2 -> cnn3"),
    ("batch_normalization_9", "bn", (1506,), "BN on the INTERLEAVED pools (max_0, mean_0, max_1, ...)"),
    ("dense", "dense", (1506, 200), "dense 1506 -> 200, ReLU"),
    ("batch_normalization_10", "bn", (200,), "BN after dense -> penultimate"),
    ("dense_1", "dense", (200, 50), "dense 200 -> 50 logits (sigmoid -> tag probabilities)"),
]


def expected_tensors() -> dict[str, tuple[int, ...]]:
    out: dict[str, tuple[int, ...]] = {}
    for name, kind, shape, _ in EXPECTED_LAYERS:
        if kind == "bn":
            for v in ("gamma", "beta", "moving_mean", "moving_variance"):
                out[f"{name}/{v}"] = shape
        else:
            out[f"{name}/kernel"] = shape
            out[f"{name}/bias"] = (shape[-1],)
    return out


EXPECTED = expected_tensors()
assert len(EXPECTED) == 64


def musicnn_dir() -> Path:
    spec = importlib.util.find_spec("musicnn")
    if spec is None or spec.origin is None:
        sys.exit("musicnn is not installed in this Python (run Tools/setup-reference-venv.sh)")
    return Path(spec.origin).parent


def musicnn_labels(model: str) -> list[str]:
    from musicnn import configuration as config  # plain module, no TensorFlow import

    labels = config.MTT_LABELS if model.startswith("MTT") else config.MSD_LABELS
    assert len(labels) == 50, len(labels)
    return list(labels)


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_checkpoint(prefix: str) -> dict[str, np.ndarray]:
    """All variables of a TF checkpoint given by prefix (the package's `checkpoint` file points to
    the author's home directory, so never resolve through it)."""
    import tensorflow as tf

    reader = tf.compat.v1.train.NewCheckpointReader(prefix)
    dtypes = reader.get_variable_to_dtype_map()
    out = {}
    for name in reader.get_variable_to_shape_map():
        assert dtypes[name] == tf.float32, f"{name}: unexpected dtype {dtypes[name]}"
        out[name] = np.asarray(reader.get_tensor(name))
    return out


def convert(model: str, out_dir: Path) -> dict:
    ckpt_dir = musicnn_dir() / model
    index_file = ckpt_dir / ".index"
    data_file = ckpt_dir / ".data-00000-of-00001"
    for f in (index_file, data_file):
        assert f.is_file(), f"missing checkpoint file {f}"
    prefix = str(ckpt_dir) + "/"  # the files are literally named ".index" / ".data-..."

    variables = read_checkpoint(prefix)
    assert len(variables) == 150, f"{model}: expected 150 checkpoint variables, got {len(variables)}"
    dropped = sorted(set(variables) - set(EXPECTED))
    assert all("/Adam" in n or n in ("beta1_power", "beta2_power") for n in dropped), dropped
    assert len(dropped) == 86, len(dropped)

    tensors: dict[str, np.ndarray] = {}
    for name, shape in EXPECTED.items():
        assert name in variables, f"{model}: variable {name} missing from checkpoint"
        value = variables[name]
        assert value.shape == shape, f"{model}: {name} has shape {value.shape}, expected {shape}"
        assert value.dtype == np.float32
        assert np.all(np.isfinite(value)), f"{model}: {name} has non-finite values"
        if name.endswith("moving_variance"):
            assert np.all(value >= 0), f"{model}: {name} has negative variances"
        tensors[name] = np.ascontiguousarray(value.astype("<f4"))
    assert len(tensors) == 64

    n_params = int(sum(t.size for t in tensors.values()))
    labels = musicnn_labels(model)
    metadata = {
        "model": model,
        "tags": json.dumps(labels, ensure_ascii=False),
        "source": SOURCE,
        "converter": CONVERTER,
        "source_index_sha256": sha256(index_file),
        "source_data_sha256": sha256(data_file),
        "layout": "TensorFlow: conv kernels [time, freq, in, out], dense kernels [in, out]; "
                  "float32 little-endian",
        "bn_epsilon": repr(BN_EPSILON),
        "n_tensors": str(len(tensors)),
        "n_parameters": str(n_params),
        "input": "log10(1 + 10000 * float16(mel power)) [187 frames, 96 mel]; "
                 "librosa sr=16000 n_fft=512 hop=256 n_mels=96",
    }

    out_dir.mkdir(parents=True, exist_ok=True)
    out_path = out_dir / f"{model}.safetensors"
    st_writer.save(out_path, tensors, metadata)
    st_writer.verify(out_path, tensors, metadata)  # official reader, bit-exact comparison

    print(f"{model}: {len(tensors)} tensors, {n_params} parameters -> "
          f"{rel(out_path)} ({out_path.stat().st_size} bytes)")
    return {"model": model, "path": out_path, "n_params": n_params, "metadata": metadata,
            "tensors": tensors}


def write_license(out_dir: Path) -> None:
    dist = importlib.metadata.distribution("musicnn")
    assert dist.version == "0.1.0", dist.version
    text = dist.read_text("LICENSE.md")
    assert text and "Permission to use, copy, modify" in text, "musicnn licence text not found"
    (out_dir / "LICENSE").write_text(text)


README_TEMPLATE = """\
# musicnn weights (MTT_musicnn, MSD_musicnn)

Generated by `{converter}`; do not edit by hand (re-run the converter instead).

## Provenance

- Package: `musicnn` {version} from PyPI (Jordi Pons, Music Technology Group, Universitat Pompeu
  Fabra, 2019), ISC licence: see `LICENSE` in this directory (verbatim from the package metadata).
- Source files, inside the installed package (`musicnn/<model>/`):

| model | `.index` sha256 | `.data-00000-of-00001` sha256 |
|---|---|---|
{sources}

- `MTT_musicnn` was trained on MagnaTagATune (50 tags), `MSD_musicnn` on the Million Song Dataset
  (50 tags). Both have the same architecture and tensor shapes. The tag vocabulary, in output
  order, is in each file's `__metadata__["tags"]` (a JSON array, from `musicnn/configuration.py`).

## What was kept

The checkpoints hold 150 float32 variables. Only the 64 needed for inference are kept: conv and
dense `kernel`/`bias` (8 conv + 2 dense layers) and batch-norm `gamma`/`beta`/`moving_mean`/
`moving_variance` (11 BN layers): {n_params:,} parameters, {mb:.2f} MB as float32. Dropped: the
84 Adam slots (`*/Adam`, `*/Adam_1`) and `beta1_power`/`beta2_power`. Values are bit-identical to
the checkpoint (the converter reads the file back and compares).

## Format

- safetensors, all tensors `F32` (little-endian). Names are the TensorFlow variable names,
  unchanged: `conv2d/kernel`, `conv2d/bias`, `batch_normalization_3/moving_mean`, `dense_1/kernel`...
- Layouts are TensorFlow's: conv kernels `[time, freq, in, out]` (HWIO with H = time, W = mel
  frequency), dense kernels `[in, out]`.
- `__metadata__` keys: {metadata_keys}.

| tensor | shape | role |
|---|---|---|
{table}

## Architecture (what the Swift implementation must reproduce)

Input: one window of 187 log-mel frames x 96 mel bands (3 s at 16 kHz, hop 256), as
`[time=187, freq=96, channels=1]`. Frames are `log10(1 + 10000 * m)` where `m` is librosa's mel
power (`sr=16000, n_fft=512, hop_length=256, n_mels=96`, Slaney mel scale and norm, Hann window,
`center=True` with zero padding) **rounded to float16** (round-to-nearest-even, subnormals
included, >= 65520 -> +inf; tiny powers become exactly 0) and the log taken in float32.
For tagging, a clip is split into non-overlapping windows (hop 187), dropping the last partial one.

Every batch norm is inference-mode `y = gamma * (x - moving_mean) / sqrt(moving_variance + 0.001)
+ beta` over the last (channel) axis; epsilon = 0.001. Every conv/dense layer with an activation
is `ReLU(x * W + b)` and the BN comes **after** the ReLU. Dropout is the identity at inference.

1. `batch_normalization` (1 channel) on the input.
2. Timbral front end: zero-pad the *normalized* input by 3 frames at the start and end of the
   time axis (not in frequency), then a VALID conv:
   - `conv2d` 7x38 -> `[187, 59, 204]`, ReLU, `batch_normalization_1`, max over the 59 frequency
     positions -> `[187, 204]`;
   - `conv2d_1` 7x67 -> `[187, 30, 204]`, ReLU, `batch_normalization_2`, max over 30 -> `[187, 204]`.
3. Temporal front end on the normalized input, TensorFlow 'SAME' padding in time (zeros; for an
   even kernel k the extra zero goes at the end: `(k-1)//2` before, `k//2` after), none in
   frequency (kernel width 1):
   - `conv2d_2` 128x1 (pad 63/64), `conv2d_3` 64x1 (pad 31/32), `conv2d_4` 32x1 (pad 15/16), each
     -> `[187, 96, 51]`, ReLU, BN (`_3`, `_4`, `_5`), max over the 96 mel bins -> `[187, 51]`.
4. Front-end features: concatenate on channels in this order: conv2d (204), conv2d_1 (204),
   conv2d_2 (51), conv2d_3 (51), conv2d_4 (51) -> `[187, 561]`. (musicnn's `timbral` feature is
   the first 408 channels, `temporal` the last 153.)
5. Mid end (the 561 features are the conv's "freq" axis with in=1, so each layer is a 1-D conv
   over time with a 7-tap kernel, zero-padded 3/3 in time):
   - `cnn1 = BN_6(ReLU(conv2d_5(front)))` -> `[187, 64]`; `conv2d_5/kernel[t, c, 0, o]`;
   - `cnn2 = BN_7(ReLU(conv2d_6(cnn1))) + cnn1`;
   - `cnn3 = BN_8(ReLU(conv2d_7(cnn2))) + cnn2`.
6. Concatenate `[front (561), cnn1 (64), cnn2 (64), cnn3 (64)]` -> `[187, 753]`.
7. Back end: `max_pool` = max over time `[753]`, `mean_pool` = mean over time `[753]`.
   **The 1506 dense inputs are interleaved, not concatenated**: the graph concatenates the
   `[753, 1]` max and mean maps on the last axis (-> `[753, 2]`) and flattens, so input
   `2*i` is `max_pool[i]` and input `2*i + 1` is `mean_pool[i]`. `batch_normalization_9` and the
   rows of `dense/kernel` use this interleaved order. Then `dense` (1506 -> 200), ReLU;
   `batch_normalization_10` -> `penultimate` `[200]`; `dense_1` (200 -> 50) -> logits; sigmoid ->
   tag probabilities (the "taggram" row for that window).

One window costs about 2.8 GFLOP, almost all in the two timbral convolutions.

## Regenerating

```
Tools/setup-reference-venv.sh
TF_USE_LEGACY_KERAS=1 .venv-ref/bin/python Tools/musicnn/convert_checkpoint.py
```

The output is deterministic: re-running it reproduces these files byte for byte.
"""


def write_readme(out_dir: Path, results: list[dict]) -> None:
    first = results[0]
    rows = []
    for name, kind, _, role in EXPECTED_LAYERS:
        names = ([f"{name}/{v}" for v in ("gamma", "beta", "moving_mean", "moving_variance")]
                 if kind == "bn" else [f"{name}/kernel", f"{name}/bias"])
        for i, n in enumerate(names):
            shape = "[" + ", ".join(str(d) for d in EXPECTED[n]) + "]"
            rows.append(f"| `{n}` | {shape} | {role if i == 0 else ''} |")
    sources = "\n".join(
        f"| {r['model']} | `{r['metadata']['source_index_sha256']}` | "
        f"`{r['metadata']['source_data_sha256']}` |" for r in results)
    text = README_TEMPLATE.format(
        converter=CONVERTER,
        version=importlib.metadata.version("musicnn"),
        sources=sources,
        n_params=first["n_params"],
        mb=first["n_params"] * 4 / 1e6,
        metadata_keys=", ".join(f"`{k}`" for k in first["metadata"]),
        table="\n".join(rows),
    )
    (out_dir / "README.md").write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", type=Path, default=REPO_ROOT / "Models" / "musicnn")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    args = ap.parse_args()

    results = [convert(m, args.out_dir) for m in args.models]
    # The two models must share every shape (same architecture).
    if len(results) == 2:
        a, b = results[0]["tensors"], results[1]["tensors"]
        assert all(a[n].shape == b[n].shape for n in EXPECTED)
        assert any(not np.array_equal(a[n], b[n]) for n in EXPECTED), "models are identical?"
    write_license(args.out_dir)
    write_readme(args.out_dir, results)
    print(f"wrote {rel(args.out_dir / 'LICENSE')} and {rel(args.out_dir / 'README.md')}")


if __name__ == "__main__":
    main()
