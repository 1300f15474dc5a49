"""Crash points on the write path, for fault-injection tests.

Every file write, fsync, rename and removal a save performs calls :func:`checkpoint`.
Normally that is one integer comparison. Two environment variables, read once at import,
turn it into a test harness:

``RAGKIT_FAULT_KILL_AT=N``
    the process SIGKILLs itself at the N-th checkpoint (counting from 1), so a test can
    check that a crash at that exact moment leaves a readable collection;
``RAGKIT_FAULT_TRACE=path``
    every checkpoint appends its label to ``path`` (one line each), so a test can count
    the points and know which save each belongs to.
"""

from __future__ import annotations

import os
import signal

__all__ = ["checkpoint", "arm"]

_KILL_AT = int(os.environ.get("RAGKIT_FAULT_KILL_AT", "0") or 0)
_TRACE = os.environ.get("RAGKIT_FAULT_TRACE") or None
_count = 0


def checkpoint(label: str) -> None:
    """Mark a point of the write path (``label`` says what happens next)."""
    if not _KILL_AT and _TRACE is None:
        return
    global _count
    _count += 1
    if _TRACE is not None:
        with open(_TRACE, "a", encoding="utf-8") as fh:
            fh.write(f"{_count}\t{label}\n")
    if _count == _KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)


def arm(kill_at: int = 0, trace: str | None = None) -> None:
    """Set the kill point and trace file in this process (what the environment variables do at import)."""
    global _KILL_AT, _TRACE, _count
    _KILL_AT, _TRACE, _count = int(kill_at), trace, 0
