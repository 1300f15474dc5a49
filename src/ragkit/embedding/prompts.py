"""Instruction prefixes that retrieval models expect on queries and passages.

Several embedding families were trained with a fixed prefix on the query (and sometimes
on the passage); leaving it out costs several nDCG points. :func:`default_prompts` gives
the pair a model name calls for, so ``SentenceTransformerEmbedder("BAAI/bge-small-en-v1.5")``
uses the right query prefix without being told.
"""

from __future__ import annotations

import re

__all__ = ["BGE_QUERY_PROMPT", "MODEL_PROMPTS", "default_prompts"]

BGE_QUERY_PROMPT = "Represent this sentence for searching relevant passages: "

#: ``(pattern on the lower-cased model name or path, query prompt, document prompt)``; first match wins.
MODEL_PROMPTS: tuple[tuple[str, str, str], ...] = (
    (r"bge-m3", "", ""),  # bge-m3 needs no instruction
    (r"bge-[a-z]+-(en|zh)(-v1\.5)?$", BGE_QUERY_PROMPT, ""),
    (r"mxbai-embed-large", BGE_QUERY_PROMPT, ""),
    (r"multilingual-e5|(^|/)e5-", "query: ", "passage: "),
    (r"nomic-embed-text", "search_query: ", "search_document: "),
    (r"snowflake-arctic-embed", BGE_QUERY_PROMPT, ""),
)


def default_prompts(model: str) -> tuple[str, str]:
    """``(query_prompt, document_prompt)`` for ``model``; ``("", "")`` when it needs none.

    Only the last component of a path counts, so a local copy of a known model gets the
    same prompts as its hub name.

    Example:
        >>> default_prompts("BAAI/bge-small-en-v1.5")[0]
        'Represent this sentence for searching relevant passages: '
        >>> default_prompts("intfloat/e5-base-v2")
        ('query: ', 'passage: ')
        >>> default_prompts("sentence-transformers/all-MiniLM-L6-v2")
        ('', '')
    """
    name = model.rstrip("/\\").lower()
    tail = re.split(r"[/\\]", name)[-1]
    for pattern, query, document in MODEL_PROMPTS:
        if re.search(pattern, tail) or re.search(pattern, name):
            return query, document
    return "", ""
