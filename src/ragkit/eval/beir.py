"""Load retrieval test collections stored in the BEIR folder layout.

A BEIR folder holds ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl``
(``_id``, ``text``) and ``qrels/<split>.tsv`` (header ``query-id  corpus-id  score``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragkit.core.documents import Document
from ragkit.core.errors import InputError
from ragkit.core.records import json_object, record_id, text_field
from ragkit.core.validation import as_path, check_str

__all__ = ["BeirDataset", "load_beir", "default_data_dir"]

logger = logging.getLogger(__name__)

_LAYOUT = "<folder>/corpus.jsonl, <folder>/queries.jsonl and <folder>/qrels/<split>.tsv"
_DATA_DIR_ENV = "RAGKIT_DATA_DIR"


@dataclass(frozen=True, slots=True, repr=False)
class BeirDataset:
    """One split of a BEIR collection: documents, the judged queries and their qrels.

    ``queries`` holds only the queries that appear in the qrels split, which is how
    published BEIR numbers are computed.

    Example:
        >>> ds = BeirDataset(name="toy", split="test",
        ...                  documents=[Document(id="d1", text="Cats purr.")],
        ...                  queries={"q1": "why do cats purr"}, qrels={"q1": {"d1": 1}})
        >>> ds
        BeirDataset(name='toy', split='test', documents=1, queries=1, judgements=1)
    """

    name: str
    split: str
    documents: list[Document]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]

    def __repr__(self) -> str:
        judgements = sum(len(d) for d in self.qrels.values())
        return (
            f"BeirDataset(name={self.name!r}, split={self.split!r}, documents={len(self.documents)}, "
            f"queries={len(self.queries)}, judgements={judgements})"
        )


def load_beir(path: str | os.PathLike[str], split: str = "test") -> BeirDataset:
    """Read a BEIR folder: its corpus, the queries judged in ``split`` and their qrels.

    Each corpus record becomes a :class:`~ragkit.core.documents.Document` with ``id = _id``,
    ``text = title + "\\n\\n" + text`` (just the non-blank one when the other is blank) and
    ``metadata = {"title": title}``. Records whose title and text are both blank are
    skipped with a logged warning. Files are read line by line.

    Example:
        >>> ds = load_beir(default_data_dir() / "scifact")  # doctest: +SKIP
        >>> len(ds.documents), len(ds.queries)  # doctest: +SKIP
        (5183, 300)

    Raises:
        InputError: if the folder or one of its files is missing (the message gives the
            expected layout), if ``split`` has no qrels file (the message lists the splits
            that exist), if a line is malformed, if ids repeat, or if a judged query is
            missing from ``queries.jsonl``.
        ConfigError: if ``split`` is not a non-empty string.
    """
    check_str("load_beir", "split", split)
    root = as_path("load_beir", path)
    if not root.is_dir():
        raise InputError(f"BEIR folder {str(root)!r} does not exist or is not a folder. Expected {_LAYOUT}.")
    corpus_path = _require_file(root, root / "corpus.jsonl")
    queries_path = _require_file(root, root / "queries.jsonl")
    qrels_path = _qrels_file(root, split)

    qrels = _read_qrels(qrels_path)
    queries = _read_queries(queries_path, wanted=qrels.keys())
    missing = [qid for qid in qrels if qid not in queries]
    if missing:
        shown = ", ".join(repr(q) for q in missing[:5])
        raise InputError(
            f"{len(missing)} query id(s) judged in {str(qrels_path)!r} are not in {str(queries_path)!r} "
            f"(first: {shown}). The qrels and queries files do not belong together."
        )
    queries = {qid: queries[qid] for qid in qrels}  # qrels order, deterministic
    documents = _read_corpus(corpus_path)

    doc_ids = {doc.id for doc in documents}
    unknown = {doc_id for judged in qrels.values() for doc_id in judged if doc_id not in doc_ids}
    if unknown:
        logger.warning(
            "%s: %d judged document id(s) are not in the loaded corpus (e.g. %r); they still count "
            "as relevant when computing recall and ideal DCG.",
            qrels_path, len(unknown), sorted(unknown)[0],
        )
    return BeirDataset(
        name=root.resolve().name, split=split, documents=documents, queries=queries, qrels=qrels
    )


def default_data_dir() -> Path | None:
    """Where the shared evaluation data lives, for benchmarks and tests.

    Returns ``$RAGKIT_DATA_DIR`` when that variable is set (whether or not it exists),
    else ``<repo root>/../shared/data`` when that folder exists, else ``None``. The
    library itself never calls this.

    Example:
        >>> data = default_data_dir()
        >>> data is None or isinstance(data, Path)
        True
    """
    env = os.environ.get(_DATA_DIR_ENV)
    if env:
        return Path(env)
    repo_root = Path(__file__).resolve().parents[3]  # src/ragkit/eval/beir.py -> repo root
    candidate = repo_root.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


# -- reading -----------------------------------------------------------------------------


def _require_file(root: Path, file: Path) -> Path:
    if not file.is_file():
        raise InputError(f"BEIR folder {str(root)!r} has no {file.name!r} (looked for {str(file)!r}). "
                         f"Expected {_LAYOUT}.")
    return file


def _qrels_file(root: Path, split: str) -> Path:
    qrels_dir = root / "qrels"
    if not qrels_dir.is_dir():
        raise InputError(f"BEIR folder {str(root)!r} has no 'qrels' folder. Expected {_LAYOUT}.")
    file = qrels_dir / f"{split}.tsv"
    if not file.is_file():
        splits = sorted(p.stem for p in qrels_dir.glob("*.tsv") if p.is_file())
        available = ", ".join(repr(s) for s in splits) if splits else "none"
        raise InputError(
            f"No qrels for split {split!r} in {str(root)!r}: {str(file)!r} does not exist. "
            f"Available splits: {available}."
        )
    return file


def _iter_jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(where, record)`` one line at a time, skipping blank lines; ``where`` is ``path:line``."""
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.strip():
                where = f"{path}:{lineno}"
                yield where, json_object(line, where)


def _read_corpus(path: Path) -> list[Document]:
    documents: list[Document] = []
    seen: set[str] = set()
    blank = 0
    for where, record in _iter_jsonl(path):
        doc_id = record_id(record, "_id", where)
        title = text_field(record, "title", where)
        text = text_field(record, "text", where)
        if doc_id in seen:
            raise InputError(f"{where}: duplicate document id {doc_id!r}.")
        seen.add(doc_id)
        parts = [part for part in (title, text) if part.strip()]
        if not parts:
            blank += 1
            continue
        documents.append(Document(id=doc_id, text="\n\n".join(parts), metadata={"title": title}))
    if blank:
        logger.warning("%s: skipped %d record(s) whose title and text are both blank.", path, blank)
    return documents


def _read_queries(path: Path, wanted: Collection[str]) -> dict[str, str]:
    """Texts of the queries in ``wanted``; every id is still checked for duplicates."""
    queries: dict[str, str] = {}
    seen: set[str] = set()
    for where, record in _iter_jsonl(path):
        qid = record_id(record, "_id", where)
        if qid in seen:
            raise InputError(f"{where}: duplicate query id {qid!r}.")
        seen.add(qid)
        text = text_field(record, "text", where)
        if qid in wanted:
            queries[qid] = text
    return queries


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    repeated = 0
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != 3:
                raise InputError(
                    f"{path}:{lineno}: expected 3 tab-separated fields (query-id, corpus-id, score), "
                    f"got {len(fields)}."
                )
            qid, doc_id, raw = (f.strip() for f in fields)
            try:
                grade = int(raw)
            except ValueError:
                if lineno == 1:  # the header line
                    continue
                raise InputError(f"{path}:{lineno}: score must be an integer. Got {raw!r} instead.") from None
            if not qid or not doc_id:
                raise InputError(f"{path}:{lineno}: empty query-id or corpus-id.")
            judged = qrels.setdefault(qid, {})
            if doc_id in judged:
                repeated += 1
            judged[doc_id] = grade
    if repeated:
        logger.warning("%s: %d repeated (query-id, corpus-id) pair(s); the last grade wins.", path, repeated)
    return qrels
