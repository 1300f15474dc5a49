"""Which fields of a record (JSONL line, Parquet or CSV row) are the id, the text, the title and the metadata."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ragkit.core.errors import ConfigError
from ragkit.core.records import record_id, text_field
from ragkit.core.validation import check_str

__all__ = ["FieldMap", "RESERVED_METADATA"]

#: Names a chunk's metadata cannot use (they are chunk table columns); left out of "every field".
RESERVED_METADATA = frozenset({"doc_id", "chunk_id", "position", "start", "end", "text"})


@dataclass(frozen=True, kw_only=True)
class FieldMap:
    """The fields of a record: ``id_field`` (str or int), ``text_field``, an optional ``title_field``, metadata.

    ``title_field``: prepended to the text (``title\\n\\ntext``) and kept as ``title`` metadata.
    ``metadata_fields``: the fields copied into the metadata; ``None`` (default) copies every
    scalar field (str, int, float, bool, null; lists of str too) other than the id, text and
    title fields and the reserved chunk columns (``position``, ``start``...).

    Raises:
        ConfigError: an empty field name, or a field used for two roles.
    """

    id_field: str = "id"
    text_field: str = "text"
    title_field: str | None = None
    metadata_fields: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        owner = "FieldMap"
        check_str(owner, "id_field", self.id_field)
        check_str(owner, "text_field", self.text_field)
        if self.title_field is not None:
            check_str(owner, "title_field", self.title_field)
        if self.metadata_fields is not None:
            if isinstance(self.metadata_fields, str):
                raise ConfigError(f"The 'metadata_fields' parameter of {owner} must be a list of field names, "
                                  f"not one str. Got {self.metadata_fields!r} instead.")
            object.__setattr__(self, "metadata_fields", tuple(self.metadata_fields))
            for name in self.metadata_fields:
                check_str(owner, "metadata_fields", name)
        roles = [self.id_field, self.text_field] + ([self.title_field] if self.title_field else [])
        if len(set(roles)) != len(roles):
            raise ConfigError(f"{owner}: id_field, text_field and title_field must be different fields. Got {roles}.")

    @classmethod
    def of(cls, *, id_field: str = "id", text_field: str = "text", title_field: str | None = None,
           metadata_fields: Sequence[str] | None = None) -> FieldMap:
        return cls(id_field=id_field, text_field=text_field, title_field=title_field,
                   metadata_fields=None if metadata_fields is None else tuple(metadata_fields))

    @property
    def roles(self) -> frozenset[str]:
        """The id, text and title field names."""
        return frozenset(f for f in (self.id_field, self.text_field, self.title_field) if f)

    def describe(self) -> dict[str, Any]:
        return {"id_field": self.id_field, "text_field": self.text_field, "title_field": self.title_field,
                "metadata_fields": None if self.metadata_fields is None else list(self.metadata_fields)}

    def metadata_names(self, names: Sequence[str]) -> list[str]:
        """The metadata fields among a table's column ``names`` (listed ones, else every non-role, non-reserved one)."""
        if self.metadata_fields is not None:
            return list(self.metadata_fields)
        return [n for n in names if n not in self.roles and n not in RESERVED_METADATA]

    def document(self, record: dict[str, Any], where: str) -> tuple[str, str, dict[str, Any]]:
        """``(id, text, metadata)`` of one record; the text is blank when the record has none.

        Raises:
            InputError: a missing or malformed id, a text or title that is not a string.
        """
        doc_id = record_id(record, self.id_field, where)
        text = text_field(record, self.text_field, where)
        if self.metadata_fields is not None:
            meta = {f: record.get(f) for f in self.metadata_fields}
        else:
            meta = {k: v for k, v in record.items() if k not in self.roles and k not in RESERVED_METADATA and _scalar(v)}
        if self.title_field is not None:
            title = text_field(record, self.title_field, where)
            meta["title"] = title
            text = "\n\n".join(p for p in (title, text) if p.strip())
        return doc_id, text, meta


def _scalar(value: Any) -> bool:
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _scalar_type(kind: Any) -> bool:
    import pyarrow as pa

    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type)
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind)
                or pa.types.is_floating(kind) or pa.types.is_boolean(kind) or pa.types.is_null(kind))


def table_columns(fields: FieldMap, schema: Any, where: str) -> list[str]:
    """The columns of an Arrow ``schema`` to read: id, text, title, then the metadata ones.

    Raises:
        InputError: a named column is missing.
    """
    from ragkit.core.errors import InputError

    names = list(schema.names)
    meta = fields.metadata_names(names)
    if fields.metadata_fields is None:
        meta = [n for n in meta if _scalar_type(schema.field(n).type)]
    wanted = [fields.id_field, fields.text_field, *([fields.title_field] if fields.title_field else []), *meta]
    missing = [c for c in wanted if c not in names]
    if missing:
        raise InputError(f"{where}: no column(s) {missing}; it has {sorted(names)}. "
                         "Name the right ones with id_field=/text_field=/title_field=/metadata_fields= "
                         "(--id-field, --text-field, --title-field, --metadata-fields).")
    return wanted


def arrow_documents(fields: FieldMap, table: Any, where: str) -> Any:
    """A document table (:data:`~ragkit.pipeline.sources.DOCUMENT_SCHEMA`) from an Arrow table of records.

    Ids are cast to strings; rows with a null or blank text (and title) are skipped and
    reported in the table's skip list.

    Raises:
        InputError: a null id.
    """
    import json

    import pyarrow as pa
    import pyarrow.compute as pc

    from ragkit.core.errors import InputError
    from ragkit.pipeline.sources._base import SKIPPED_KEY

    ids = table.column(fields.id_field)
    if ids.null_count:
        raise InputError(f"{where}: column {fields.id_field!r} has null ids; every document needs one.")
    ids = pc.cast(ids, pa.string())
    text = pc.fill_null(pc.cast(table.column(fields.text_field), pa.large_string()), "")
    meta_names = [n for n in table.column_names if n not in fields.roles]
    rows = table.select(meta_names).to_pylist() if meta_names else [{} for _ in range(table.num_rows)]
    if fields.title_field is not None:
        title = pc.fill_null(pc.cast(table.column(fields.title_field), pa.large_string()), "")
        both = pc.binary_join_element_wise(title, text, pa.scalar("\n\n", pa.large_string()))
        text = pc.if_else(pc.equal(pc.utf8_trim_whitespace(title), ""), text,
                          pc.if_else(pc.equal(pc.utf8_trim_whitespace(text), ""), title, both))
        for row, value in zip(rows, title.to_pylist(), strict=True):
            row["title"] = value
    keep = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0)
    metadata = pa.array([json.dumps(r, sort_keys=True) for r in rows], type=pa.string())
    out = pa.table({"id": ids, "text": text, "metadata": metadata})
    dropped = pc.filter(ids, pc.invert(keep)).to_pylist()
    out = out.filter(keep)
    if dropped:
        skipped = [{"path": f"{where}#{i}", "reason": "empty", "detail": f"row {i!r} has no text in {fields.text_field!r}"}
                   for i in dropped]
        out = out.replace_schema_metadata({SKIPPED_KEY: json.dumps(skipped)})
    return out
