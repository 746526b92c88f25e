#!/usr/bin/env python3
"""An independent NumPy (float64) implementation of the musicnn forward pass, written from the
architecture description in Models/musicnn/README.md and run on the converted safetensors
weights. It exists to check that description (and the converted weights) against the TensorFlow
golden fixtures, i.e. that what the Swift code is told to implement really is what TF computes.

    .venv-ref/bin/python Tools/musicnn/numpy_forward.py           # check every fixture

(No TensorFlow needed; NumPy + safetensors only.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "Models" / "musicnn"
FIXTURES_DIR = REPO_ROOT / "Tests" / "MusicTaggingTests" / "Fixtures" / "musicnn"
EPS = 1e-3


def load_weights(model: str) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return {k: v.astype(np.float64) for k, v in load_file(str(MODELS_DIR / f"{model}.safetensors")).items()}


def bn(x: np.ndarray, w: dict, name: str) -> np.ndarray:
    return (w[f"{name}/gamma"] * (x - w[f"{name}/moving_mean"])
            / np.sqrt(w[f"{name}/moving_variance"] + EPS) + w[f"{name}/beta"])


def conv_valid(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """x [T, F, Cin], kernel [kt, kf, Cin, Cout] (TF HWIO) -> [T-kt+1, F-kf+1, Cout]."""
    kt, kf = kernel.shape[:2]
    win = np.lib.stride_tricks.sliding_window_view(x, (kt, kf), axis=(0, 1))  # [T', F', Cin, kt, kf]
    return np.einsum("tfcij,ijco->tfo", win, kernel, optimize=True) + bias


def pad_time(x: np.ndarray, before: int, after: int) -> np.ndarray:
    return np.pad(x, [(before, after)] + [(0, 0)] * (x.ndim - 1))


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def forward(mel: np.ndarray, w: dict) -> dict[str, np.ndarray]:
    """One window: mel [187, 96] (log-compressed) -> every intermediate musicnn exposes."""
    x = bn(mel.astype(np.float64)[:, :, None], w, "batch_normalization")  # [T, 96, 1]
    # Timbral: pad time 3/3, VALID conv, ReLU, BN, max over frequency.
    xp = pad_time(x, 3, 3)
    f74 = bn(relu(conv_valid(xp, w["conv2d/kernel"], w["conv2d/bias"])), w, "batch_normalization_1").max(1)
    f77 = bn(relu(conv_valid(xp, w["conv2d_1/kernel"], w["conv2d_1/bias"])), w, "batch_normalization_2").max(1)
    # Temporal: TF 'SAME' in time ((k-1)//2 before, k//2 after), ReLU, BN, max over frequency.
    temporal = []
    for conv, norm, k in (("conv2d_2", "batch_normalization_3", 128),
                          ("conv2d_3", "batch_normalization_4", 64),
                          ("conv2d_4", "batch_normalization_5", 32)):
        y = conv_valid(pad_time(x, (k - 1) // 2, k // 2), w[f"{conv}/kernel"], w[f"{conv}/bias"])
        temporal.append(bn(relu(y), w, norm).max(1))
    front = np.concatenate([f74, f77] + temporal, axis=1)  # [T, 561]

    def midend_layer(inp: np.ndarray, conv: str, norm: str) -> np.ndarray:
        y = conv_valid(pad_time(inp[:, :, None], 3, 3), w[f"{conv}/kernel"], w[f"{conv}/bias"])
        return bn(relu(y[:, 0, :]), w, norm)  # [T, 64]

    cnn1 = midend_layer(front, "conv2d_5", "batch_normalization_6")
    cnn2 = midend_layer(cnn1, "conv2d_6", "batch_normalization_7") + cnn1
    cnn3 = midend_layer(cnn2, "conv2d_7", "batch_normalization_8") + cnn2
    feats = np.concatenate([front, cnn1, cnn2, cnn3], axis=1)  # [T, 753]
    max_pool, mean_pool = feats.max(0), feats.mean(0)
    # The graph concatenates [753, 1] max and mean maps on the LAST axis -> [753, 2] and flattens
    # it: the 1506 dense inputs are INTERLEAVED (max_0, mean_0, max_1, mean_1, ...).
    h = bn(np.stack([max_pool, mean_pool], axis=1).reshape(-1), w, "batch_normalization_9")
    penultimate = bn(relu(h @ w["dense/kernel"] + w["dense/bias"]), w, "batch_normalization_10")
    logits = penultimate @ w["dense_1/kernel"] + w["dense_1/bias"]
    return {"timbral": np.concatenate([f74, f77], 1), "temporal": np.concatenate(temporal, 1),
            "cnn1": cnn1, "cnn2": cnn2, "cnn3": cnn3, "max_pool": max_pool, "mean_pool": mean_pool,
            "penultimate": penultimate, "logits": logits, "taggram": 1 / (1 + np.exp(-logits))}


def check_fixture(path: Path, weights_cache: dict) -> float:
    """Compare the NumPy forward pass with a TF fixture; returns the worst normalized error."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata()
        fx = {k: f.get_tensor(k) for k in f.keys()}
    model = meta["model"]
    if model not in weights_cache:
        weights_cache[model] = load_weights(model)
    w = weights_cache[model]
    n, hop = int(meta["n_frames"]), int(meta["hop_frames"])
    per_frame = json.loads(meta["per_frame_windows"])
    worst = 0.0
    for win in range(int(meta["n_windows"])):
        out = forward(fx["mel"][win * hop: win * hop + n], w)
        names = ["taggram", "logits", "max_pool", "mean_pool", "penultimate"]
        if win in per_frame:
            names += ["timbral", "temporal", "cnn1", "cnn2", "cnn3"]
        for name in names:
            ref = fx[name][win if name in ("taggram", "logits", "max_pool", "mean_pool", "penultimate")
                           else per_frame.index(win)]
            err = np.max(np.abs(out[name] - ref)) / (np.max(np.abs(ref)) + 1e-12)
            worst = max(worst, float(err))
            assert err < 1e-4, f"{path.name} window {win} {name}: normalized error {err:.2e}"
    return worst


def main() -> None:
    files = sorted(FIXTURES_DIR.glob("*.safetensors"))
    if not files:
        sys.exit(f"no fixtures in {FIXTURES_DIR}")
    cache: dict = {}
    for path in files:
        print(f"{path.name}: max |numpy - TF| / max |TF| = {check_fixture(path, cache):.2e}")


if __name__ == "__main__":
    main()
