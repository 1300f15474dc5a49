"""The stages after fusion a CLI command asks for (shared by `search` and `eval`): --rerank, --mmr, --expand."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_stage_arguments", "stages_from_args"]


def add_stage_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("stages after fusion")
    group.add_argument("--rerank", default=None, metavar="MODEL",
                       help="rerank with this cross-encoder (model id or local folder, e.g. cross-encoder/ms-marco-MiniLM-L6-v2)")
    group.add_argument("--depth", type=int, default=None,
                       help="candidates reranked per query (default: ragkit.search.stages.DEFAULT_RERANK_DEPTH)")
    group.add_argument("--rerank-budget-ms", type=float, default=None, metavar="MS",
                       help="time allowed for reranking per query; fewer candidates are reranked when it runs out")
    group.add_argument("--rerank-batch-size", type=int, default=32, help="pairs per cross-encoder forward pass (default 32)")
    group.add_argument("--rerank-device", choices=("auto", "cpu", "cuda", "mps"), default="auto", help="where the cross-encoder runs")
    group.add_argument("--prepend", nargs="+", default=(), metavar="FIELD",
                       help="metadata fields put before each passage for the reranker (e.g. title headings)")
    group.add_argument("--mmr", type=float, default=None, metavar="LAMBDA",
                       help="diversify by maximal marginal relevance (1: relevance only, 0: novelty only)")
    group.add_argument("--mmr-candidates", type=int, default=None,
                       help="rows MMR chooses from per query (default: the reranked ones with --rerank, else 50)")
    group.add_argument("--per-document", type=int, default=None, metavar="N", help="at most N chunks of one document per query")
    group.add_argument("--expand", type=int, default=None, metavar="N", help="return each hit with N neighbouring chunks each side")
    group.add_argument("--expand-section", action="store_true",
                       help="return each hit with its whole section (same heading path; a collection chunked with "
                            "--chunker markdown); not with --expand N")
    group.add_argument("--expand-source", default=None, metavar="SOURCE",
                       help="the corpus the collection was built from (as for `ragkit index`): spans may then cross the "
                            "whitespace between chunks")
    group.add_argument("--max-chars", type=int, default=None, help="character budget for each query's expanded context")


def stages_from_args(args: argparse.Namespace, *, keep_rest: bool = False) -> list[Any]:
    """The stages the arguments ask for, in the order rerank, diversity, expansion.

    ``keep_rest``: the reranker's unreranked candidates follow its reranked ones (evaluation runs deeper than --depth).

    Raises:
        InputError: --depth, --rerank-budget-ms, --prepend or --mmr-candidates without the stage they tune.
    """
    from ragkit.core.errors import InputError
    from ragkit.search.stages import DEFAULT_RERANK_DEPTH, MMR, Expand, Rerank

    stages: list[Any] = []
    pool = 50
    if args.rerank is not None:
        from ragkit.embedding.cross_encoder import CrossEncoderReranker

        reranker = CrossEncoderReranker(args.rerank, batch_size=args.rerank_batch_size, device=args.rerank_device)
        pool = args.depth if args.depth is not None else DEFAULT_RERANK_DEPTH
        stages.append(Rerank(reranker, candidates=pool,
                             budget_ms=args.rerank_budget_ms, prepend=tuple(args.prepend), keep_rest=keep_rest))
    elif args.depth is not None or args.rerank_budget_ms is not None or args.prepend:
        raise InputError("--depth, --rerank-budget-ms and --prepend tune reranking; add --rerank MODEL.")
    if args.mmr is not None or args.per_document is not None:
        stages.append(MMR(lambda_=1.0 if args.mmr is None else args.mmr,
                          candidates=args.mmr_candidates if args.mmr_candidates is not None else pool,
                          per_document=args.per_document))
    if args.expand is not None or args.expand_section:
        source = None
        if args.expand_source is not None:
            source = _texts(args.expand_source)
        # Expand refuses a window with section=True (ConfigError; ragkit.cli.messages names --expand and --expand-section)
        stages.append(Expand(window=args.expand, section=args.expand_section, source=source, max_chars=args.max_chars))
    elif args.expand_source is not None or args.max_chars is not None:
        raise InputError("--expand-source and --max-chars tune context expansion; add --expand N or --expand-section.")
    return stages


def _texts(path: str) -> dict[str, str]:
    """Document id -> text of a corpus, read as `ragkit index` reads it."""
    from ragkit.pipeline import open_source

    corpus = open_source(path)
    texts: dict[str, str] = {}
    for spec in corpus.plan(10_000):
        table = corpus.read(spec)
        texts.update(zip(table.column("id").to_pylist(), table.column("text").to_pylist(), strict=True))
    return texts
