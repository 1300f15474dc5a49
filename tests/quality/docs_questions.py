"""Hand-judged questions over ragkit's own docs/ and the rule that judges a hit.

Each line of ``docs_questions.jsonl`` is one question with the section that answers it:
``{"id", "question", "doc", "section", "also"?}``. ``doc`` is the document id a folder
source gives the page (its path relative to ``docs/``, e.g. ``"persistence.md"``);
``section`` is the heading path :class:`~ragkit.MarkdownChunker` records in a chunk's
``metadata["headings"]``, top-down; ``also`` lists other ``{"doc", "section"}`` that answer
the question fully too.

A hit is relevant when its ``doc_id`` equals a judged ``doc`` and its heading path starts
with that judgement's ``section``: a question judged at a ``##`` section also accepts the
chunks of its ``###`` subsections.

Load this file with ``importlib`` (tests run with ``--import-mode=importlib``):

    spec = importlib.util.spec_from_file_location("docs_questions", Path(__file__).with_name("docs_questions.py"))
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragkit.core.errors import InputError

__all__ = ["DEFAULT_PATH", "DocsQuestion", "Section", "is_relevant", "judge", "load_docs_questions"]

DEFAULT_PATH = Path(__file__).with_name("docs_questions.jsonl")

Section = tuple[str, tuple[str, ...]]
"""A judged unit: ``(doc id, heading path)``."""

_KEYS = {"id", "question", "doc", "section", "also"}


@dataclass(frozen=True)
class DocsQuestion:
    """One question, the section that answers it best, and other sections that answer it too."""

    id: str
    question: str
    doc: str
    section: tuple[str, ...]
    also: tuple[Section, ...] = ()

    @property
    def targets(self) -> tuple[Section, ...]:
        """Every judged ``(doc, section)``: the main one first, then ``also``."""
        return ((self.doc, self.section), *self.also)


def _string(value: Any, what: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: {what} must be a non-empty string. Got {value!r} instead.")
    return value


def _section(record: Any, where: str) -> Section:
    if not isinstance(record, dict) or set(record) != {"doc", "section"}:
        raise InputError(f"{where}: each 'also' entry must be an object with exactly 'doc' and 'section'. "
                         f"Got {record!r} instead.")
    return _string(record["doc"], "'doc'", where), _path(record["section"], where)


def _path(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise InputError(f"{where}: 'section' must be a non-empty list of heading strings. Got {value!r} instead.")
    return tuple(_string(h, "each heading of 'section'", where) for h in value)


def _parse(line: str, where: str) -> DocsQuestion:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(f"{where}: not valid JSON ({e}).") from e
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object. Got {type(record).__name__} instead.")
    missing = sorted({"id", "question", "doc", "section"} - set(record))
    unknown = sorted(set(record) - _KEYS)
    if missing or unknown:
        raise InputError(f"{where}: keys must be id, question, doc, section and optionally also; "
                         f"missing {missing}, unknown {unknown}.")
    also = record.get("also", [])
    if not isinstance(also, list):
        raise InputError(f"{where}: 'also' must be a list. Got {also!r} instead.")
    question = DocsQuestion(
        id=_string(record["id"], "'id'", where),
        question=_string(record["question"], "'question'", where),
        doc=_string(record["doc"], "'doc'", where),
        section=_path(record["section"], where),
        also=tuple(_section(entry, where) for entry in also),
    )
    if len(set(question.targets)) != len(question.targets):
        raise InputError(f"{where}: question {question.id!r} lists the same (doc, section) twice.")
    return question


def load_docs_questions(path: str | Path | None = None) -> list[DocsQuestion]:
    """The questions of ``path`` (default: ``docs_questions.jsonl`` next to this module), in file order.

    Raises:
        InputError: a line that is not a well-formed question, or a repeated id.
    """
    file = DEFAULT_PATH if path is None else Path(path)
    questions: list[DocsQuestion] = []
    seen: set[str] = set()
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        question = _parse(line, f"{file}:{number}")
        if question.id in seen:
            raise InputError(f"{file}:{number}: the id {question.id!r} is used twice.")
        seen.add(question.id)
        questions.append(question)
    return questions


def is_relevant(question: DocsQuestion, doc_id: str, headings: Iterable[str] | None) -> bool:
    """Whether a chunk of ``doc_id`` under the heading path ``headings`` answers ``question``."""
    path = tuple(headings or ())
    return any(doc_id == doc and path[:len(section)] == section for doc, section in question.targets)


def judge(question: DocsQuestion, hits: Sequence[Any]) -> int | None:
    """The 1-based rank of the first relevant hit (``.doc_id``, ``.metadata["headings"]``), or ``None``."""
    for rank, hit in enumerate(hits, 1):
        if is_relevant(question, hit.doc_id, hit.metadata.get("headings")):
            return rank
    return None
