"""The documentation notebook re-executes without error and reports metrics in the expected range."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import ragkit

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "notebooks" / "tune_hybrid_scifact.ipynb"


def test_tune_hybrid_scifact_notebook_executes(scifact_dir: Path, embedding_cache_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    # the kernel inherits this environment: same data, same embedding cache, this ragkit
    monkeypatch.setenv("RAGKIT_DATA_DIR", str(scifact_dir.parent))
    monkeypatch.setenv("RAGKIT_CACHE_DIR", str(embedding_cache_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    source_root = str(Path(ragkit.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (source_root, os.environ.get("PYTHONPATH", "")) if p))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=1200, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError on the first failing cell

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2  # the weight and latency plots
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "Loading weights" not in text  # transformers' loading bar is silenced where the model loads
    (line,) = [ln for ln in text.splitlines() if ln.startswith("SUMMARY ")]
    summary = json.loads(line.removeprefix("SUMMARY "))
    assert summary["bm25"] >= 0.68
    assert summary["dense"] >= 0.645
    assert summary["hybrid tuned"] >= 0.70
    assert summary["hybrid tuned"] > max(summary["bm25"], summary["dense"])
