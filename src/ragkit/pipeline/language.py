"""Which script and language a corpus is in, and what the BM25 analyser and the embedding model make of it.

:func:`language_warnings` looks at a sample of documents: the share of each script among
their letters (vectorised over code points) and, for Latin text, which language's stop
words are most frequent. It returns the warnings a build should show when the text is
mostly in a script or language the analyser (stop words, stemmer, CJK bigrams) or the
default English embedding model does not serve.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ragkit.index.bm25.stopwords import STOPWORDS
from ragkit.index.bm25.tokenizer import LANGUAGES, BM25Tokenizer

__all__ = ["ENGLISH_MODELS", "MULTILINGUAL_MODEL", "script_shares", "guess_language", "language_warnings"]

#: Models trained on English text only (the default among them).
ENGLISH_MODELS = frozenset({"sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"})
#: A multilingual sentence-transformers model of the same size class (50+ languages, 384-d).
MULTILINGUAL_MODEL = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"

# (script, first code point, last code point); letters outside these are not counted
_SCRIPTS = [
    ("latin", 0x41, 0x5A), ("latin", 0x61, 0x7A), ("latin", 0xC0, 0x24F), ("greek", 0x370, 0x3FF),
    ("cyrillic", 0x400, 0x4FF), ("hebrew", 0x590, 0x5FF), ("arabic", 0x600, 0x6FF), ("devanagari", 0x900, 0x97F),
    ("thai", 0xE00, 0xE7F), ("cjk", 0x2E80, 0x2FDF), ("cjk", 0x3040, 0x31FF), ("cjk", 0x3400, 0x4DBF),
    ("cjk", 0x4E00, 0x9FFF), ("cjk", 0xAC00, 0xD7AF), ("cjk", 0xF900, 0xFAFF),
]
_WORD = re.compile(r"[^\W\d_]+")
_SAMPLE_CHARS = 200_000


def script_shares(texts: Sequence[str]) -> dict[str, float]:
    """Share of each script among the letters of ``texts`` (at most their first 200,000 characters)."""
    sample = "".join(texts)[:_SAMPLE_CHARS]
    points = np.frombuffer(sample.encode("utf-32-le", "replace"), dtype=np.uint32)
    counts: dict[str, int] = {}
    for script, low, high in _SCRIPTS:
        counts[script] = counts.get(script, 0) + int(np.count_nonzero((points >= low) & (points <= high)))
    total = sum(counts.values())
    return {s: n / total for s, n in counts.items() if n} if total else {}


def guess_language(texts: Sequence[str]) -> str | None:
    """The language whose stop words are most frequent in ``texts`` (``None`` when none stands out)."""
    words = _WORD.findall("".join(texts)[:_SAMPLE_CHARS].lower())
    if len(words) < 20:
        return None
    bag = np.array(words)
    shares = {lang: float(np.isin(bag, list(stop)).mean()) for lang, stop in STOPWORDS.items()}
    best = max(shares, key=lambda lang: shares[lang])
    return best if shares[best] >= 0.12 else None


def language_warnings(texts: Sequence[str], tokenizer: BM25Tokenizer, model: str | None) -> list[str]:
    """What to tell a user whose sample ``texts`` the ``tokenizer`` or the embedding ``model`` may serve badly."""
    shares = script_shares(texts)
    if not shares:
        return []
    script = max(shares, key=lambda s: shares[s])
    if shares[script] < 0.5:
        return []
    english_model = model is not None and model in ENGLISH_MODELS
    found: list[str] = []
    language = guess_language(texts) if script in ("latin", "cyrillic") else None
    if script == "cjk":
        if tokenizer.cjk == "none":
            found.append("the text is mostly Chinese/Japanese/Korean but the BM25 analyser reads a whole clause as one "
                         "word; use --language zh (ja, ko) for CJK bigrams")
    elif script == "cyrillic" and tokenizer.stopwords != "ru":
        found.append("the text is mostly Cyrillic but BM25 uses English stop words and stemming; "
                     "use --language ru (or none)")
    elif script == "latin" and language not in (None, "en") and tokenizer.stopwords != language:
        found.append(f"the text looks like {language!r} but BM25 uses {tokenizer.stopwords!r} stop words and the "
                     f"{tokenizer.stemmer!r} stemmer; use --language {language}")
    elif script not in ("latin", "cjk", "cyrillic"):
        found.append(f"the text is mostly {script} script; BM25 splits words on spaces and punctuation only "
                     f"(no stemming){'; for Thai, which has no spaces, expect poor BM25 matches' if script == 'thai' else ''}")
    non_english = script != "latin" or language not in (None, "en")
    if english_model and non_english:
        what = language if language in LANGUAGES else f"{script}-script"
        found.append(f"the default embedding model ({model}) is trained on English only; for {what} text use a "
                     f"multilingual model, e.g. --model {MULTILINGUAL_MODEL}")
    return found
