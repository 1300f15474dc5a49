"""Crash testing: run a collection writer in a child process that SIGKILLs itself at a chosen write.

Used by ragkit's fault-injection tests and usable for your own: :func:`crash_writer` runs a
script of changes (each followed by a save) in a child forked from the calling process
(POSIX; forking keeps each run to a fraction of a second), armed to die at the N-th crash
point of the write path (see ``ragkit.core.faults``); :func:`count_crash_points` runs it
once unarmed and reports the points, labelled with the save they belong to.

:func:`crash_call`, :func:`count_call_points` and :func:`kill_call_after` do the same for any
callable (a whole ``index_corpus`` build, say): die at the N-th crash point, list the points
of an unarmed run, or be SIGKILLed from outside after a given delay.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["Step", "count_call_points", "count_crash_points", "crash_call", "crash_writer", "kill_call_after"]

#: One change then a save: ``("add", [document dicts])``, ``("delete", [doc ids])`` or ``("upsert", [document dicts])``.
Step = tuple[str, list[Any]]


def _documents(items: list[dict[str, Any]]) -> list[Any]:
    from ragkit.core.documents import Document

    return [Document(id=d["id"], text=d["text"], metadata=d.get("metadata", {})) for d in items]


def _run(root: str, steps: Sequence[Step], kill_at: int, trace: str | None) -> None:
    from ragkit.core import faults as _faults
    from ragkit.store.collection import Collection

    _faults.arm(kill_at=kill_at, trace=trace)
    collection = Collection.open(root)
    for number, (kind, payload) in enumerate(steps, start=1):
        if kind == "add":
            collection.add(_documents(payload))
        elif kind == "delete":
            collection.delete(doc_ids=payload)
        elif kind == "upsert":
            collection.upsert(_documents(payload))
        else:
            raise ValueError(f"unknown step {kind!r}")
        if trace is not None:
            with open(trace, "a", encoding="utf-8") as fh:
                fh.write(f"0\tsave {number}\n")
        collection.save(root)


def _fork_call(fn: Callable[[], object], timeout: float, kill_after: float | None = None) -> int:
    """Run ``fn`` in a forked child; its exit status as (negative) signal number or exit code.

    ``kill_after``: SIGKILL the child after that many seconds (if it is still running).
    """
    if not hasattr(os, "fork"):  # pragma: no cover - Windows
        raise RuntimeError("crash testing needs os.fork (POSIX).")
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        code = 0
        try:
            _unshare_locks()
            fn()
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    start = time.monotonic()
    killed = False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        elapsed = time.monotonic() - start
        if kill_after is not None and not killed and elapsed >= kill_after:
            os.kill(pid, signal.SIGKILL)
            killed = True
        if elapsed > timeout:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise TimeoutError(f"the child did not finish within {timeout} s")
        time.sleep(0.001 if kill_after is not None and not killed else 0.01)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _unshare_locks() -> None:
    """In a forked child, give tqdm a lock of its own.

    tqdm's default write lock holds a multiprocessing semaphore that a forked child shares with
    its parent (and a thread lock that a parent thread, tqdm's monitor, may have held at the
    fork): a child SIGKILLed while holding it would block the parent's next progress bar
    (even a disabled one) forever.
    """
    std = sys.modules.get("tqdm.std")
    if std is None:
        return
    import threading

    lock = threading.RLock()
    classes = [std.tqdm]
    while classes:
        cls = classes.pop()
        if cls is std.tqdm or "_lock" in vars(cls):
            cls._lock = lock
        classes.extend(cls.__subclasses__())


def _armed(fn: Callable[[], object], kill_at: int, trace: str | None) -> Callable[[], object]:
    def run() -> object:
        from ragkit.core import faults as _faults

        _faults.arm(kill_at=kill_at, trace=trace)
        return fn()

    return run


def _fork_run(root: str | Path, steps: Sequence[Step], kill_at: int, trace: str | None, timeout: float) -> int:
    """Run the script in a forked child; its exit status as (negative) signal number or exit code."""
    return _fork_call(lambda: _run(str(root), list(steps), int(kill_at), trace), timeout)


def crash_call(fn: Callable[[], object], kill_at: int, timeout: float = 120.0) -> bool:
    """Run ``fn`` in a forked child armed to die at crash point ``kill_at``; True if it was killed there.

    Raises:
        RuntimeError: ``fn`` failed (raised) in the child.
    """
    code = _fork_call(_armed(fn, int(kill_at), None), timeout)
    if code not in (0, -signal.SIGKILL):
        raise RuntimeError(f"the child failed with exit code {code}")
    return code == -signal.SIGKILL


def count_call_points(fn: Callable[[], object], timeout: float = 120.0) -> list[str]:
    """Run ``fn`` unarmed in a forked child; the labels of its crash points, in order."""
    with tempfile.TemporaryDirectory() as tmp:
        trace = str(Path(tmp) / "trace")
        Path(trace).touch()
        code = _fork_call(_armed(fn, 0, trace), timeout)
        if code != 0:
            raise RuntimeError(f"the child failed with exit code {code}")
        return [line.split("\t", 1)[1] for line in Path(trace).read_text(encoding="utf-8").splitlines()]


def kill_call_after(fn: Callable[[], object], delay: float, timeout: float = 120.0) -> bool:
    """Run ``fn`` in a forked child and SIGKILL it after ``delay`` seconds; True if it was killed (not finished).

    Raises:
        RuntimeError: ``fn`` failed (raised) in the child.
    """
    code = _fork_call(fn, timeout, kill_after=delay)
    if code not in (0, -signal.SIGKILL):
        raise RuntimeError(f"the child failed with exit code {code}")
    return code == -signal.SIGKILL


def crash_writer(root: str | Path, steps: Sequence[Step], kill_at: int, timeout: float = 120.0) -> bool:
    """Run ``steps`` on the collection at ``root``, dying at crash point ``kill_at``; True if it was killed there."""
    code = _fork_run(root, steps, kill_at, None, timeout)
    if code not in (0, -signal.SIGKILL):
        raise RuntimeError(f"the writer failed with exit code {code}")
    return code == -signal.SIGKILL


def count_crash_points(root: str | Path, steps: Sequence[Step], timeout: float = 120.0) -> list[tuple[int, str]]:
    """Run ``steps`` unarmed; returns, for each crash point in order, (the save it is in, its label)."""
    with tempfile.TemporaryDirectory() as tmp:
        trace = str(Path(tmp) / "trace")
        Path(trace).touch()
        code = _fork_run(root, steps, 0, trace, timeout)
        if code != 0:
            raise RuntimeError(f"the writer failed with exit code {code}")
        points, save = [], 0
        for line in Path(trace).read_text(encoding="utf-8").splitlines():
            _, label = line.split("\t", 1)
            if label.startswith("save "):
                save = int(label.split()[1])
            else:
                points.append((save, label))
        return points
