"""Deterministic randomness: seeded generators for bulk draws and a counter hash for the stream.

Every random figure of the simulated market is a pure function of the seed and a few labels
(symbol, session date, purpose), so two servers with the same seed give the same answers.
"""

from __future__ import annotations

import zlib

import numpy as np

_MASK64 = (1 << 64) - 1


def label_key(label: str | int) -> int:
    if isinstance(label, int):
        return label & 0xFFFFFFFF
    return zlib.crc32(label.encode())


def derive_rng(seed: int, *labels: str | int) -> np.random.Generator:
    words = [seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF, *(label_key(label) for label in labels)]
    return np.random.default_rng(np.random.SeedSequence(words))


def mix64(value: int) -> int:
    """splitmix64 finaliser: a cheap, well-spread hash for per-event draws on the hot path."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def hash_unit(key: int, counter: int) -> float:
    """A uniform draw in [0, 1) fixed by (key, counter)."""
    return mix64(key ^ mix64(counter)) / 18446744073709551616.0


def stream_key(seed: int, *labels: str | int) -> int:
    key = mix64(seed & _MASK64)
    for label in labels:
        key = mix64(key ^ label_key(label))
    return key
