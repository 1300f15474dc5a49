"""Parameters of the FAISS vector index (:class:`~ragkit.index.vector.faiss.FaissIndex`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any, Literal

from ragkit.core.errors import ConfigError
from ragkit.core.validation import check_choice, check_config, check_int, check_str

__all__ = ["FaissConfig", "config_options"]

_NUMBER = re.compile(r"\d+")
#: Graph degrees FAISS needs (HNSW M, NSG R): below them it aborts the process or never finishes building
#: (HNSW0 and HNSW1 crash; NSG3 to NSG5 did not finish on 300 vectors, NSG6 and NSG7 did: 8 with a margin).
_MIN_DEGREE = {"HNSW": 2, "NSG": 8}
_DEGREE = re.compile(r"(HNSW|NSG)(\d+)")


@dataclass(frozen=True, kw_only=True)
class FaissConfig:
    """Parameters of :class:`FaissIndex`.

    ``factory``: a FAISS index-factory string (``"Flat"``, ``"HNSW32"``, ``"IVF256,Flat"``,
    ``"IVF1024,PQ32"``, ``"IVF4096_HNSW32,SQ8"``...), a binary one (``"BFlat"``,
    ``"BHNSW32"``: sign bits, Hamming search), or ``"auto"`` to choose from the corpus
    size, dimension and ``memory_budget`` (bytes). ``nprobe`` / ``ef_search`` set the
    search breadth (``None``: FAISS's default, or what :meth:`FaissIndex.tune` chose).
    ``rescore``: compressed and binary codes fetch ``rescore * k`` candidates and re-rank
    them by exact inner product (0 turns this off).
    """

    factory: str = "Flat"
    nprobe: int | None = None
    ef_search: int | None = None
    device: Literal["auto", "cpu", "gpu"] = "auto"
    gpu_mode: Literal["replicate", "shard"] = "replicate"
    gpu_float16: bool = False
    memory_budget: int | None = None
    rescore: int = 4

    def __post_init__(self) -> None:
        owner = "FaissIndex"
        check_str(owner, "factory", self.factory)
        if "IDMap" in self.factory:
            raise ConfigError(f"The 'factory' parameter of {owner} must not contain IDMap: ids are managed by ragkit.")
        check_factory_sizes(owner, self.factory)
        for name in ("nprobe", "ef_search", "memory_budget"):
            if getattr(self, name) is not None:  # stored as int: a numpy integer would not survive the manifest's JSON
                object.__setattr__(self, name, check_int(owner, name, getattr(self, name), low=1))
        check_choice(owner, "device", self.device, ("auto", "cpu", "gpu"))
        check_choice(owner, "gpu_mode", self.gpu_mode, ("replicate", "shard"))
        object.__setattr__(self, "rescore", check_int(owner, "rescore", self.rescore, low=0))
        if not isinstance(self.gpu_float16, bool):
            raise ConfigError(f"The 'gpu_float16' parameter of {owner} must be a bool. Got {self.gpu_float16!r} instead.")


def check_factory_sizes(owner: str, factory: str) -> None:
    """Refuse sizes in a factory string that FAISS accepts but then crashes the process on (a segfault or an abort
    a Python ``try`` cannot catch) or never finishes with: a 0 anywhere (``PQ8x0``, ``IVF0``, ``RQ4x0``, ``OPQ8_0``)
    and graph degrees below :data:`_MIN_DEGREE` (``HNSW1``, ``NSG4``).

    Raises:
        ConfigError: naming the size, what is allowed and the factory string.
    """
    if any(int(n) == 0 for n in _NUMBER.findall(factory)):
        raise ConfigError(f"The 'factory' parameter of {owner} has a size of 0 in {factory!r}: list counts, code sizes, "
                          "bits and dimensions must be at least 1.")
    for kind, degree in _DEGREE.findall(factory):
        if int(degree) < _MIN_DEGREE[kind]:
            raise ConfigError(f"The 'factory' parameter of {owner} asks for {kind}{degree}: the {kind} graph degree must be "
                              f"at least {_MIN_DEGREE[kind]}. Got {factory!r}; e.g. {kind}32.")


def config_options(owner: str, config: Any) -> dict[str, Any]:
    """The keyword arguments of ``FaissIndex(...)`` that a :meth:`FaissIndex.get_config` mapping records.

    Raises:
        ConfigError: ``config`` is not a mapping or has unknown keys (e.g. written by a newer ragkit).
    """
    return check_config(owner, config, [f.name for f in fields(FaissConfig)])
