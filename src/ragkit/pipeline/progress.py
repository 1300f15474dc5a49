"""``Progress``: the progress bar of a batch build, shared by the local and the Ray engine."""

from __future__ import annotations

__all__ = ["Progress"]


class Progress:
    """One tqdm bar over documents, with chunks and embeddings/s as postfix."""

    def __init__(self, total: int, enabled: bool, desc: str) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, unit="doc", desc=desc, disable=not enabled, dynamic_ncols=True)
        self.chunks = 0
        self.embedded = 0
        self.embed_seconds = 0.0

    def docs(self, n: int) -> None:
        self.bar.update(n)

    def note(self, chunks: int = 0, embedded: int = 0, seconds: float = 0.0) -> None:
        self.chunks += chunks
        self.embedded += embedded
        self.embed_seconds += seconds
        rate = self.embedded / self.embed_seconds if self.embed_seconds else 0.0
        self.bar.set_postfix(chunks=self.chunks, emb_per_s=f"{rate:.0f}", refresh=False)

    def close(self) -> None:
        self.bar.close()
