"""The JSON bodies of the service (pydantic models: validated on the way in, documented in the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ragkit.core.results import Hit

__all__ = ["BatchSearchRequest", "BatchSearchResponse", "CollectionInfo", "HitOut", "LegOut", "SearchRequest",
           "SearchResponse", "hit_out"]


class SearchRequest(BaseModel):
    """One query. There is no principal field: a request searches as its API key's principal."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, description="the query text")
    k: int = Field(10, ge=1, description="hits to return (at most the server's max_k)")
    filters: dict[str, Any] | None = Field(None, description="a ragkit metadata filter, e.g. {\"lang\": \"en\"}")


class BatchSearchRequest(BaseModel):
    """Several queries searched together (embedded in one batch)."""

    model_config = ConfigDict(extra="forbid")
    queries: list[str] = Field(min_length=1, description="the query texts (at most the server's max_batch)")
    k: int = Field(10, ge=1)
    filters: dict[str, Any] | None = None


class LegOut(BaseModel):
    rank: int
    score: float


class HitOut(BaseModel):
    """One hit: the chunk (with its exact offsets into its document), the final score and every leg's rank and score."""

    id: str = Field(description="chunk id, '<doc_id>#<position>'")
    doc_id: str
    position: int
    row: int
    score: float
    start: int
    end: int
    text: str
    metadata: dict[str, Any]
    legs: dict[str, LegOut]


class SearchResponse(BaseModel):
    hits: list[HitOut]
    version: str = Field(description="the collection version that answered")
    took_ms: float


class BatchSearchResponse(BaseModel):
    results: list[list[HitOut]]
    version: str
    took_ms: float


class CollectionInfo(BaseModel):
    name: str
    version: str
    sharded: bool
    shards: int
    num_chunks: int
    num_documents: int
    num_rows: int
    indexes: dict[str, str] = Field(description="index name -> kind ('vector' / 'bm25')")
    access_field: str | None
    embedder: dict[str, Any] | None
    mode: str
    limits: dict[str, Any]


def hit_out(hit: Hit) -> dict[str, Any]:
    """A hit as the plain dict of :class:`HitOut`."""
    return {"id": f"{hit.doc_id}#{hit.position}", "doc_id": hit.doc_id, "position": hit.position, "row": hit.chunk_row,
            "score": hit.score, "start": hit.start, "end": hit.end, "text": hit.text, "metadata": dict(hit.metadata),
            "legs": {name: {"rank": leg.rank, "score": leg.score} for name, leg in hit.legs.items()}}
