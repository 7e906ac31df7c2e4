"""Deterministic text vectors by signed feature hashing of word unigrams and bigrams.

Texts that share words share hashed features, so similar texts get similar vectors (cosine similarity follows word
overlap), which is what a search or RAG system built on the mock embedder needs to be tested against. No model, no
network, and the same text always gives the same vector on every machine (crc32 is stable, unlike ``hash()``).
"""

from __future__ import annotations

import re
import zlib

import numpy as np

WORDS = re.compile(r"\w+", re.UNICODE)
BIGRAM_WEIGHT = 0.5


def _features(text: str) -> tuple[list[bytes], list[float]]:
    words = [w.encode("utf-8") for w in WORDS.findall(text.lower())]
    bigrams = [a + b" " + b for a, b in zip(words, words[1:], strict=False)]
    return words + bigrams, [1.0] * len(words) + [BIGRAM_WEIGHT] * len(bigrams)


def feature_hash_vector(text: str, dimensions: int) -> np.ndarray:
    """An L2-normalised float32 vector of ``dimensions`` for ``text``."""
    features, weights = _features(text)
    vector = np.zeros(dimensions, dtype=np.float64)
    if not features:
        # A text without words still needs a valid unit vector: hash the raw text as one feature.
        features, weights = [text.encode("utf-8")], [1.0]
    hashes = np.fromiter((zlib.crc32(f) for f in features), dtype=np.uint64, count=len(features))
    signs = np.where((hashes >> np.uint64(31)) & np.uint64(1), -1.0, 1.0)
    np.add.at(vector, (hashes % np.uint64(dimensions)).astype(np.intp), signs * np.asarray(weights))
    norm = np.linalg.norm(vector)
    if norm == 0.0:
        vector[0] = 1.0
        norm = 1.0
    return (vector / norm).astype(np.float32)
