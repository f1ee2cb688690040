"""Work that runs beside the solve: in a forked child process, or a thread.

The min-cost flow (OR-Tools) holds the GIL while it solves, so a thread beside it waits through
every flow and then competes with the solver's own Python work for the GIL. ``Beside`` runs a
function in a forked child process instead when this process runs no other thread (the command
line and the benchmark): the child has the data already (copy-on-write), uses the otherwise
idle second core, and sends the result back through a pipe. A process with other threads (the
web app) keeps a thread: forking there could copy a lock another thread holds. If the child
fails, ``result()`` computes the result in the parent, so a failure costs time, never the answer.

Three jobs run beside a solve: the failure counts of youths without any eligible option
(``matcher.rules.failure_figures``; national seed 11: about 2 s less wall time), a large
round's dual bound (``matcher.flowdual``), beside the consolidation and the age-window flow
(0.6-0.8 s, docs/objective.md), and the exact path's guessed preference LP beside its housing
LP (``matcher.exact``; always a thread: its result holds a HiGHS instance).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

__all__ = ["Beside"]

T = TypeVar("T")

# Pipe buffer asked for (Linux caps it at /proc/sys/fs/pipe-max-size, 1 MiB by default), so the
# child can write its result and exit without waiting for the parent to read.
PIPE_BYTES = 1 << 20


class Beside(Generic[T]):
    """``fn(*args)`` started now, collected with ``result()``.

    ``fork``: None decides by the thread count (see the module docstring); True / False force
    the process / the thread (tests, and results that cannot be pickled)."""

    def __init__(self, fn: Callable[..., T], *args: Any, fork: bool | None = None) -> None:
        self._fn = fn
        self._args = args
        self._pid = 0
        self._fd = -1
        self._pool: ThreadPoolExecutor | None = None
        self._future: Future[T] | None = None
        if fork is None:
            fork = hasattr(os, "fork") and threading.active_count() == 1
        if fork:
            self._fork()
        else:
            self._pool = ThreadPoolExecutor(max_workers=1)
            self._future = self._pool.submit(fn, *args)

    def _fork(self) -> None:
        read, write = os.pipe()
        with contextlib.suppress(OSError, AttributeError):
            fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, PIPE_BYTES)  # type: ignore[attr-defined]
        pid = os.fork()
        if pid == 0:  # the child: compute, write, leave without running any cleanup
            code = 1
            try:
                os.close(read)
                data = pickle.dumps(self._fn(*self._args))
                with os.fdopen(write, "wb") as out:
                    out.write(data)
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self._pid, self._fd = pid, read

    def result(self) -> T:
        """The result; computed here if the child failed (re-raises what the thread raised)."""
        if self._future is not None and self._pool is not None:
            try:
                return self._future.result()
            finally:
                self._pool.shutdown()
        with os.fdopen(self._fd, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self._pid, 0)
        if status != 0 or not data:
            return self._fn(*self._args)
        value: T = pickle.loads(data)
        return value
