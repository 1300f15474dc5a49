"""BEIR-layout folders: ``corpus.jsonl`` with ``_id``, ``title`` and ``text``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ragkit.core.errors import InputError
from ragkit.core.validation import as_path
from ragkit.pipeline.sources.jsonl import JsonlSource

__all__ = ["BeirSource"]


class BeirSource(JsonlSource):
    """The corpus of a BEIR folder, as :func:`ragkit.eval.load_beir` reads it.

    Documents are ``title\\n\\ntext`` with ``title`` metadata, so a collection built from
    this source evaluates exactly like one built from ``load_beir(path).documents``.

    Raises:
        InputError: when ``path`` has no ``corpus.jsonl``.
    """

    kind = "beir"

    def __init__(self, path: str | Path) -> None:
        root = as_path("BeirSource", path)
        if not (root / "corpus.jsonl").is_file():
            raise InputError(f"{root} is not a BEIR folder: it has no corpus.jsonl.")
        super().__init__(root / "corpus.jsonl", id_field="_id", text_field="text", title_field="title",
                         metadata_fields=())

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "kind": self.kind}
