"""Chunkers split documents into chunks measured in model tokens, with exact offsets."""

from ragkit.chunking.batch import chunk_documents
from ragkit.chunking.markdown import MarkdownChunker
from ragkit.chunking.recursive import RecursiveChunker
from ragkit.chunking.sentence import SentenceChunker
from ragkit.chunking.tokens import HFTokenCounter, RegexTokenCounter, get_token_counter
from ragkit.chunking.whole import WholeDocumentChunker

__all__ = [
    "RecursiveChunker",
    "SentenceChunker",
    "MarkdownChunker",
    "WholeDocumentChunker",
    "RegexTokenCounter",
    "HFTokenCounter",
    "get_token_counter",
    "chunk_documents",
]
