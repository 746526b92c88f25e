"""Seeded, exactly reproducible weights for the Harmonic CNN reference (fixtures only).

The real MagnaTagATune Harmonic CNN cannot be downloaded on the development machines, so the golden
fixtures use random weights. The converted checkpoint would be 14.5 MB — too large to commit as a
fixture — so the Swift tests regenerate the very same tensors with the same generator
(`Tests/MusicTaggingTests/HarmonicCNNTestWeights.swift`) and check them against per-tensor hashes
this script records from the converter's output.

Generator (identical in both languages, bit for bit): for tensor `name` with n elements,
    stream = FNV-1a-64(utf8(name))
    z_i    = splitmix64_finalise(stream + (i + 1) * 0x9E3779B97F4A7C15)      (mod 2^64), i = 0 … n-1
    k_i    = (z_i >> 44) - 2^19                                               (an integer in [-2^19, 2^19))
    v_i    = base + k_i * 2^q                                                  (exact in float32)
with (base, q) chosen per tensor kind so every value is exactly representable (no rounding anywhere):
conv/linear weights uniform in ±2^p with p = floor(log2(sqrt(6 / fan_in))) (He-uniform scale, rounded
down to a power of two; 16 times smaller for the classifier `dense2`, so its sigmoids are not saturated), biases ±1/16, BN gamma 1 ± 1/4, beta ±1/16, running mean ±1/8, running
variance 1 ± 1/4; the input BN sees decibels, so its running mean is −20 ± 8 and its variance 400 ± 64;
the bandwidth factor bw_Q is 1 ± 1/4.
"""

from __future__ import annotations

import math

import numpy as np

GOLDEN = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1


def fnv1a64(text: str) -> int:
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h ^= byte
        h = (h * 0x100000001B3) & MASK
    return h


def integers(name: str, count: int) -> np.ndarray:
    """k_i in [-2^19, 2^19) for tensor `name`."""
    stream = np.uint64(fnv1a64(name))
    with np.errstate(over="ignore"):
        z = np.arange(1, count + 1, dtype=np.uint64) * np.uint64(GOLDEN) + stream
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(44)).astype(np.int64) - (1 << 19)


def distribution(name: str, shape: tuple[int, ...]) -> tuple[float, int]:
    """(base, q) of tensor `name`: values base + k * 2^q."""
    leaf = name.rsplit(".", 1)[-1]
    is_input_bn = name.startswith("hstft_bn.")
    if leaf == "weight" and len(shape) >= 2:                      # conv [out, in, kh, kw] or linear [out, in]
        fan_in = int(np.prod(shape[1:]))
        p = math.floor(math.log2(math.sqrt(6.0 / fan_in)))
        if name == "dense2.weight":
            p -= 4          # smaller logits, so the taggram is not saturated at 0/1 and its parity means something
        return 0.0, p - 19
    if name == "hstft.bw_Q":
        return 1.0, -21
    if leaf == "weight":                                          # BN gamma
        return 1.0, -21
    if leaf == "bias" and (is_input_bn or ".bn" in name or name.startswith("bn.")):
        return 0.0, -23                                           # BN beta
    if leaf == "bias":                                            # conv / linear bias
        return 0.0, -23
    if leaf == "running_mean":
        return (-20.0, -16) if is_input_bn else (0.0, -22)
    if leaf == "running_var":
        return (400.0, -13) if is_input_bn else (1.0, -21)
    raise ValueError(f"no seeded distribution for {name}")


def tensor(name: str, shape: tuple[int, ...]) -> np.ndarray:
    base, q = distribution(name, shape)
    k = integers(name, int(np.prod(shape)) if shape else 1)
    values = np.float32(base) + k.astype(np.float32) * np.float32(2.0 ** q)
    exact = base + k.astype(np.float64) * 2.0 ** q
    assert np.array_equal(values.astype(np.float64), exact), f"{name}: values not exact in float32"
    return values.reshape(shape).astype(np.float32)


def fnv1a64_bytes(data: bytes) -> int:
    """The hash the Swift tests compare converted tensors with (FNV-1a-64 of the little-endian bytes)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    h = 0xCBF29CE484222325
    # Byte loop in Python is slow for 14 MB; fold in chunks with numpy-free pure ints is fine (~10 s).
    for byte in arr.tobytes():
        h ^= byte
        h = (h * 0x100000001B3) & MASK
    return h
