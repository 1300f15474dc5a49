"""Numbers in messages: counts whose noun agrees ("1 shard", "3 shards"), rates and durations."""

from __future__ import annotations

__all__ = ["count", "duration", "rate"]


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``count(1, "shard") == "1 shard"``, ``count(1200, "document") == "1,200 documents"``."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def rate(value: float) -> str:
    """A rate with sensible precision: ``"1,240"``, ``"38"``, ``"2.4"``, ``"0.52"``."""
    return f"{value:,.0f}" if value >= 10 else f"{value:.2g}"


def duration(seconds: float) -> str:
    """``"42s"``, ``"3m05s"``, ``"1h02m"``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"
