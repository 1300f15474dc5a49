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

Race tests widen a window instead: :func:`set_hook` installs a function called with the
label of every checkpoint and of every :func:`pause`, a point on a read path (opening a
collection) that is not a crash point. Without a hook both cost one comparison.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

__all__ = ["arm", "checkpoint", "pause", "set_hook"]

_KILL_AT = int(os.environ.get("RAGKIT_FAULT_KILL_AT", "0") or 0)
_TRACE = os.environ.get("RAGKIT_FAULT_TRACE") or None
_count = 0
_hook: Callable[[str], None] | None = None


def set_hook(hook: Callable[[str], None] | None) -> Callable[[str], None] | None:
    """Call ``hook(label)`` at every checkpoint and pause from now on (``None``: stop); returns the previous hook."""
    global _hook
    previous, _hook = _hook, hook
    return previous


def pause(label: str) -> None:
    """Mark a point of a read path where a test may widen a race window (not a crash point)."""
    if _hook is not None:
        _hook(label)


def checkpoint(label: str) -> None:
    """Mark a point of the write path (``label`` says what happens next)."""
    if _hook is not None:
        _hook(label)
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
