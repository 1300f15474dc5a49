"""A deterministic synthetic corpus for tests and load benchmarks (no data files needed)."""

from __future__ import annotations

import numpy as np

from ragkit.core.documents import Document

__all__ = ["synthetic_documents", "synthetic_queries"]

_SYLLABLES = ("ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "da", "zu", "fe", "ho", "qi", "ba", "wy")


def _vocabulary(size: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(_SYLLABLES), size=(size * 2, 4))
    lengths = rng.integers(2, 5, size=size * 2)
    syllables = np.asarray(_SYLLABLES)[picks]
    words = {"".join(row[:n]) for row, n in zip(syllables.tolist(), lengths.tolist(), strict=True)}
    return sorted(words)[:size]


def synthetic_documents(n: int, *, seed: int = 0, words: int = 12, vocabulary: int = 5000,
                        tenants: int = 4, groups: int = 6, prefix: str = "d") -> list[Document]:
    """``n`` short documents of Zipf-distributed made-up words, with metadata.

    Metadata: ``tenant`` (str, one of ``t0..``), ``acl`` (list of 1-2 groups ``g0..``),
    ``year`` (int) and ``lang`` (``en``/``de``). Same arguments, same corpus.
    """
    rng = np.random.default_rng(seed)
    vocab = np.asarray(_vocabulary(vocabulary, seed=1234))
    ranks = np.minimum(rng.zipf(1.3, size=(n, words)) - 1, len(vocab) - 1)
    texts = [" ".join(row) for row in vocab[ranks]]
    tenant = rng.integers(0, tenants, n)
    year = rng.integers(2000, 2025, n)
    lang = rng.integers(0, 2, n)
    acl_a = rng.integers(0, groups, n)
    acl_b = rng.integers(0, groups + 3, n)  # beyond `groups`: a single group
    out = []
    for i in range(n):
        acl = [f"g{acl_a[i]}"] + ([f"g{acl_b[i]}"] if acl_b[i] < groups and acl_b[i] != acl_a[i] else [])
        out.append(Document(id=f"{prefix}{i}", text=texts[i], metadata={
            "tenant": f"t{tenant[i]}", "acl": acl, "year": int(year[i]), "lang": ("en", "de")[lang[i]],
        }))
    return out


def synthetic_queries(n: int, *, seed: int = 1, words: int = 3, vocabulary: int = 5000) -> list[str]:
    """``n`` queries of a few words drawn from the same vocabulary as :func:`synthetic_documents`."""
    rng = np.random.default_rng(seed)
    vocab = np.asarray(_vocabulary(vocabulary, seed=1234))
    ranks = np.minimum(rng.zipf(1.3, size=(n, words)) - 1, len(vocab) - 1)
    return [" ".join(row) for row in vocab[ranks]]
