#!/usr/bin/env python3
"""Convert the authors' Harmonic CNN checkpoint (`best_model.pth`) to MusCaps Live's safetensors.

The pre-trained MagnaTagATune Harmonic CNN of Won et al. (2020) is published with their code,
`minzwon/sota-music-tagging-models` on GitHub: `models/mtat/hcnn/best_model.pth` (a PyTorch
`state_dict` of `training/model.py`'s `HarmonicCNN`), with the tag order in `split/mtat/tags.npy`.

    .venv-torch/bin/python Tools/hcnn/convert_checkpoint.py \\
        sota-music-tagging-models/models/mtat/hcnn/best_model.pth \\
        --tags sota-music-tagging-models/split/mtat/tags.npy \\
        --out Models/hcnn/HCNN_MTT.safetensors

Checks, as `Tools/musicnn/convert_checkpoint.py` does for musicnn: every tensor of the checkpoint is
used exactly once (kept, or checked and dropped: `hstft.spec.window` must be the periodic Hann window
the Swift front end computes; `*.num_batches_tracked` is a training counter), no tensor is missing,
every shape is the architecture's, every value float32 and finite, variances non-negative. A
`module.` prefix (a checkpoint saved from `nn.DataParallel`) is stripped when every key has it.

Output: the kept tensors under their PyTorch names and layouts (conv weights [out, in, kh, kw],
linear weights [out, in]), float32 little-endian, in the architecture's order; metadata: `model`,
`extractor` = `hcnn`, `tags` (JSON list), `feature_size` 256, `window_samples` 80000, `sample_rate`,
`bn_epsilon`, `source_sha256`, `converter`. The Swift loader is `HarmonicCNN` (Sources/MusicTagging).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

sys.path.append(str(Path(__file__).resolve().parents[1] / "musicnn"))  # st_writer; appended, so this folder wins
import st_writer  # noqa: E402

CONVERTER = "Tools/hcnn/convert_checkpoint.py"
N_HARMONIC, CHANNELS, CLASSES_DEFAULT = 6, 128, 50
BN_EPSILON = 1e-5


def expected_tensors(n_class: int) -> dict[str, tuple[int, ...]]:
    """Every tensor the Swift model needs, in data-flow order, with its PyTorch shape."""
    out: dict[str, tuple[int, ...]] = {"hstft.bw_Q": (1,)}

    def bn(prefix, channels):
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            out[f"{prefix}.{leaf}"] = (channels,)

    def conv(prefix, cin, cout):
        out[f"{prefix}.weight"] = (cout, cin, 3, 3)
        out[f"{prefix}.bias"] = (cout,)

    bn("hstft_bn", N_HARMONIC)
    conv("layer1.conv", N_HARMONIC, CHANNELS)
    bn("layer1.bn", CHANNELS)
    for layer, channels in (("layer2", CHANNELS), ("layer3", CHANNELS), ("layer4", CHANNELS)):
        conv(f"{layer}.conv_1", channels, channels); bn(f"{layer}.bn_1", channels)
        conv(f"{layer}.conv_2", channels, channels); bn(f"{layer}.bn_2", channels)
    conv("layer5.conv", CHANNELS, 2 * CHANNELS)
    bn("layer5.bn", 2 * CHANNELS)
    for layer in ("layer6", "layer7"):
        conv(f"{layer}.conv_1", 2 * CHANNELS, 2 * CHANNELS); bn(f"{layer}.bn_1", 2 * CHANNELS)
        conv(f"{layer}.conv_2", 2 * CHANNELS, 2 * CHANNELS); bn(f"{layer}.bn_2", 2 * CHANNELS)
    out["dense1.weight"] = (2 * CHANNELS, 2 * CHANNELS)
    out["dense1.bias"] = (2 * CHANNELS,)
    bn("bn", 2 * CHANNELS)
    out["dense2.weight"] = (n_class, 2 * CHANNELS)
    out["dense2.bias"] = (n_class,)
    return out


class ConversionError(Exception):
    pass


def periodic_hann(n: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)


def to_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        if str(value.dtype) != "torch.float32" and not str(value.dtype).startswith("torch.int"):
            raise ConversionError(f"unsupported dtype {value.dtype}")
        return value.numpy()
    return np.asarray(value)


def convert_state_dict(state: dict, tags: list[str]) -> dict[str, np.ndarray]:
    """The kept tensors, or ConversionError naming the first problem."""
    if not state:
        raise ConversionError("the checkpoint holds no tensors")
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    expected = expected_tensors(len(tags))
    unused = set(state)
    kept: dict[str, np.ndarray] = {}
    for name, shape in expected.items():
        if name not in state:
            raise ConversionError(f"tensor '{name}' is missing")
        try:
            value = to_numpy(state[name])
        except ConversionError as error:
            raise ConversionError(f"tensor '{name}': {error}") from None
        if value.dtype != np.float32:
            raise ConversionError(f"tensor '{name}' has dtype {value.dtype}, expected float32")
        if tuple(value.shape) != shape:
            raise ConversionError(f"tensor '{name}' has shape {list(value.shape)}, expected {list(shape)}")
        if not np.all(np.isfinite(value)):
            raise ConversionError(f"tensor '{name}' has non-finite values")
        if name.endswith("running_var") and np.any(value < 0):
            raise ConversionError(f"tensor '{name}' has negative variances")
        if name == "hstft.bw_Q" and not value[0] > 0:
            raise ConversionError(f"tensor '{name}' must be positive, is {value[0]}")
        kept[name] = np.ascontiguousarray(value.astype("<f4"))
        unused.discard(name)
    # Checked and dropped: the STFT window (a fixed buffer the Swift front end computes itself) and the
    # BN batch counters (training only).
    if "hstft.spec.window" in unused:
        window = to_numpy(state["hstft.spec.window"])
        if window.shape != (512,) or not np.allclose(window, periodic_hann(512), atol=1e-6):
            raise ConversionError("tensor 'hstft.spec.window' is not the 512-point periodic Hann window")
        unused.discard("hstft.spec.window")
    for name in sorted(unused):
        if name.endswith(".num_batches_tracked") and name[: -len(".num_batches_tracked")] + ".running_mean" in kept:
            unused.discard(name)
    if unused:
        raise ConversionError(f"unexpected tensor(s) not used by the architecture: {', '.join(sorted(unused))}")
    return kept


def read_tags(path: Path) -> list[str]:
    if path.suffix == ".npy":
        tags = [str(t) for t in np.load(path, allow_pickle=False)]
    else:
        tags = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not tags or len(set(tags)) != len(tags):
        raise ConversionError(f"{path}: expected a list of distinct tag names")
    return tags


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def convert(checkpoint: Path, tags_path: Path, out: Path, model_name: str = "HCNN_MTT",
            source: str = "minzwon/sota-music-tagging-models models/mtat/hcnn/best_model.pth") -> dict[str, np.ndarray]:
    import torch

    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file is one clear message
        raise ConversionError(f"{checkpoint}: cannot read as a PyTorch checkpoint: {error}") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ConversionError(f"{checkpoint}: expected a state_dict (a mapping of names to tensors)")
    tags = read_tags(tags_path)
    tensors = convert_state_dict(state, tags)
    metadata = {
        "model": model_name,
        "extractor": "hcnn",
        "tags": json.dumps(tags, ensure_ascii=False),
        "feature_size": str(2 * CHANNELS),
        "window_samples": "80000",
        "sample_rate": "16000",
        "bn_epsilon": repr(BN_EPSILON),
        "layout": "PyTorch state_dict names; conv weights [out, in, kh, kw], linear weights [out, in]; float32 LE",
        "source": source,
        "source_sha256": sha256(checkpoint),
        "converter": CONVERTER,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    st_writer.save(out, tensors, metadata)
    return tensors


def main() -> int:
    parser = argparse.ArgumentParser(description="Convert the authors' Harmonic CNN best_model.pth to safetensors.")
    parser.add_argument("checkpoint", type=Path, help="best_model.pth (a HarmonicCNN state_dict)")
    parser.add_argument("--tags", type=Path, required=True,
                        help="tag names in output order: split/mtat/tags.npy of the authors' repository, or a text file, one per line")
    parser.add_argument("--out", type=Path, default=Path("Models/hcnn/HCNN_MTT.safetensors"))
    parser.add_argument("--name", default="HCNN_MTT", help="model name stored in the metadata")
    args = parser.parse_args()
    try:
        tensors = convert(args.checkpoint, args.tags, args.out, args.name)
    except ConversionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    n = sum(t.size for t in tensors.values())
    print(f"{args.checkpoint} -> {args.out}: {len(tensors)} tensors, {n:,} parameters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
