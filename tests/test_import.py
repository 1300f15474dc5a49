"""``import ragkit`` is cheap and quiet."""

from __future__ import annotations

import subprocess
import sys

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
