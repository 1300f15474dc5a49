"""``import ragkit`` is cheap and quiet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("torch", "faiss", "sentence_transformers", "transformers", "ray", "tokenizers")


def test_import_loads_no_heavy_dependency_and_prints_nothing() -> None:
    code = (
        "import sys, logging, warnings; before = len(logging.root.handlers); import ragkit; "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules)); "
        "print(len(logging.root.handlers) == before, logging.root.level)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["[]", "True 30"]
    assert out.stderr == ""


def test_public_names_are_exported() -> None:
    import ragkit

    for name in ragkit.__all__:
        assert hasattr(ragkit, name), name


def test_a_first_hybrid_answer_in_a_new_process_imports_neither_pandas_nor_asyncio(tmp_path: Path) -> None:
    """pyarrow imports pandas (~0.1 s) on its first ``pa.array`` of Python or numpy values when pandas is installed
    (it is here: the workbench extra); opening a collection and answering a hybrid query, plain and filtered (BM25's
    plain path in a new process, FAISS, fusion, hits, metadata filters) must not take that path, nor load asyncio
    for the async methods, nor numpy.ma (``np.unique``'s first plain call imports it: milliseconds)."""
    import importlib.util

    import ragkit
    from ragkit.testing import HashEmbedder

    assert importlib.util.find_spec("pandas") is not None  # otherwise this check could not fail
    docs = [ragkit.Document(id=f"d{i}", text=f"word{i % 7} shared text number {i}",
                            metadata={"lang": "en" if i % 2 else "de", "year": 2000 + i, "score": i / 4}) for i in range(40)]
    ragkit.build_collection(docs, embedder=HashEmbedder(dimension=16)).save(tmp_path / "c")
    code = (
        "import sys, ragkit; from ragkit.testing import HashEmbedder; "
        f"col = ragkit.open_collection({str(tmp_path / 'c')!r}, embedder=HashEmbedder(dimension=16)); "
        "hits = ragkit.HybridRetriever(col).search('word3 text', k=5); "
        "hits += ragkit.HybridRetriever(col).search('word3 text', k=5, filters={'lang': {'$in': ['en', 'fr']}, "
        "'year': {'$gte': 2010}, 'score': {'$lt': 9.5}}); "
        "print(len(hits), [m for m in ('pandas', 'asyncio', 'numba', 'numpy.ma') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["10", "[]"], out.stdout + out.stderr


def test_opening_and_searching_loads_no_chunker(tmp_path: Path) -> None:
    """The chunkers load when a collection first chunks (build, add), not to open one and answer queries."""
    import ragkit

    docs = [ragkit.Document(id=f"d{i}", text=f"word{i % 7} shared text number {i}") for i in range(20)]
    ragkit.build_collection(docs, indexes=[ragkit.BM25Index()]).save(tmp_path / "c")
    code = (f"import sys, ragkit; col = ragkit.open_collection({str(tmp_path / 'c')!r}); "
            "hits = ragkit.BM25Retriever(col).search('word3 text', k=5); "
            "print(len(hits), sorted(m for m in sys.modules if m.startswith('ragkit.chunking')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["5", "[]"], out.stdout + out.stderr
