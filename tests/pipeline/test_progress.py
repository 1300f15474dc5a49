"""Progress of a batch build: per embedding batch, rate and ETA, resume as the starting point, one closing line."""

from __future__ import annotations

import io
from pathlib import Path

import ragkit
from ragkit.pipeline import index_corpus
from ragkit.pipeline.encoding import ShardEncoder
from ragkit.pipeline.progress import Progress
from ragkit.testing import HashEmbedder


def test_documents_are_credited_per_embedding_batch_not_per_shard() -> None:
    stream = io.StringIO()
    progress = Progress(100, True, "indexing (local)", stream=stream, interval=0.0)
    progress.shard(docs=100, chunks=400)
    seen = []
    for _ in range(4):
        progress.note(embedded=100, seconds=0.5)
        seen.append(int(progress.done))
    assert seen == [25, 50, 75, 100]
    progress.docs(100)  # the shard's end adds nothing more
    assert progress.done == 100
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("indexing (local): 25/100 documents (25%), 0 chunks, 200 chunks embedded/s, ")
    assert "documents/s" in lines[0] and "ETA " in lines[0]
    progress.close()
    progress.close()
    closing = stream.getvalue().splitlines()[len(lines):]
    assert len(closing) == 1 and closing[0].startswith("indexing (local): 100/100 documents (100%)") and " in " in closing[0]


def test_resume_starts_from_what_is_saved_and_rates_only_this_run() -> None:
    stream = io.StringIO()
    progress = Progress(1000, True, "indexing (local)", initial=600, vectors=False, stream=stream, interval=0.0)
    assert progress.line().startswith("indexing (local): 600/1,000 documents (60%)")
    assert "documents/s" not in progress.line()  # nothing done by this run yet
    progress.docs(100)
    line = stream.getvalue().splitlines()[-1]
    assert line.startswith("indexing (local): 700/1,000 documents (70%)") and "embedded" not in line
    assert progress.rate > 0 and progress.done - progress.initial == 100


def test_disabled_progress_writes_nothing_and_interrupted_close_is_silent() -> None:
    stream = io.StringIO()
    quiet = Progress(10, False, "x", stream=stream, interval=0.0)
    quiet.docs(10)
    quiet.close()
    interrupted = Progress(10, True, "x", stream=stream, interval=60.0)
    interrupted.docs(5)
    interrupted.close(summary=False)
    assert stream.getvalue() == ""


def test_the_encoder_reports_every_model_batch() -> None:
    from types import SimpleNamespace

    class Batched:
        """Embeds with a HashEmbedder; has a ``config.batch_size`` as SentenceTransformerEmbedder does."""

        config = SimpleNamespace(batch_size=4)
        inner = HashEmbedder(dimension=8)
        dimension = 8

        def embed_documents(self, texts: list[str]) -> object:
            return self.inner.embed_documents(texts)

    calls: list[int] = []
    encoder = ShardEncoder(Batched(), slice_size=1024)  # type: ignore[arg-type]
    encoder.encode([f"text {i}" for i in range(10)], progress=calls.append)
    assert calls == [4, 4, 2]


def test_index_corpus_progress_counts_chunks_and_documents(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(f'{{"id": "d{i}", "text": "cats and dogs number {i}"}}' for i in range(5)), encoding="utf-8")
    report = index_corpus(corpus, tmp_path / "out", chunker=ragkit.RecursiveChunker(tokenizer="regex", max_tokens=20, overlap=2),
                          embedder=HashEmbedder(dimension=8), shard_docs=2, progress=False)
    assert report.summary().startswith("saved 5 chunks of 5 documents") and "(3 shards;" in report.summary()
    assert "(embedding " in report.summary()
