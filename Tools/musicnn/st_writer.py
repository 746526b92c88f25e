"""A tiny deterministic safetensors writer (the `safetensors` package serializes `__metadata__`
in hash-map order, so its output is not byte-reproducible). Readers are unaffected: the files
are plain safetensors and are read back with the official package to verify them.

Format: 8-byte little-endian header length N, N bytes of JSON header (padded with spaces to a
multiple of 8), then the tensor bytes in header order, row-major, little-endian.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np

_DTYPES = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("<i4"): "I32",
           np.dtype("<i2"): "I16", np.dtype("<i8"): "I64", np.dtype("u1"): "U8"}


def save(path: str | os.PathLike, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Write `tensors` (in the given order) and a string->string `metadata` map."""
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    header: dict[str, object] = {"__metadata__": dict(metadata)}
    blobs = []
    offset = 0
    for name, value in tensors.items():
        arr = np.asarray(value)
        dtype = arr.dtype.newbyteorder("<") if arr.dtype.byteorder not in "|" else arr.dtype
        arr = np.ascontiguousarray(arr, dtype=dtype)
        if arr.dtype not in _DTYPES:
            raise TypeError(f"{name}: unsupported dtype {arr.dtype}")
        raw = arr.tobytes(order="C")
        header[name] = {"dtype": _DTYPES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def verify(path: str | os.PathLike, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Read `path` back with the official safetensors package and compare bit for bit."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        assert f.metadata() == metadata, "metadata mismatch"
        assert set(f.keys()) == set(tensors), "tensor names mismatch"
        for name, value in tensors.items():
            got = f.get_tensor(name)
            want = np.asarray(value)
            assert got.shape == want.shape and got.dtype == want.dtype.newbyteorder("="), name
            assert got.tobytes() == np.ascontiguousarray(want).astype(got.dtype).tobytes(), name
