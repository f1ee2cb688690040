"""Work that runs beside the solve: the failure counts of youths without any eligible option.

``matcher.rules.failure_figures`` is NumPy work of a few seconds on a national round. It used
to run in a thread; but the min-cost flow (OR-Tools) holds the GIL while it solves, so the thread
waited through every flow and then competed with the solver's own Python work for the GIL.
``Beside`` runs it in a forked child process instead when this process runs no other thread
(the command line and the benchmark): the child has the round already (copy-on-write), uses the
otherwise idle second core, and sends the figures back through a pipe. A process with other
threads (the web app) keeps the thread: forking there could copy a lock another thread holds.
National seed 11: about 2 s less wall time per solve (docs/objective.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from matcher.problem import Round
from matcher.rules import failure_figures

__all__ = ["Beside"]

Figures = dict[str, dict[str, int]]

# Pipe buffer asked for (Linux caps it at /proc/sys/fs/pipe-max-size, 1 MiB by default), so the
# child can write its figures and exit without waiting for the parent to read.
PIPE_BYTES = 1 << 20


class Beside:
    """``failure_figures(round, codes, zeros)`` started now, collected with ``result()``.

    ``fork``: None decides by the thread count (see the module docstring); True / False force
    the process / the thread (tests)."""

    def __init__(self, round: Round, codes: list[str], fork: bool | None = None) -> None:
        self._args: tuple[Any, ...] = (round, codes, np.zeros(len(codes), dtype=np.int64))
        self._pid = 0
        self._fd = -1
        self._pool: ThreadPoolExecutor | None = None
        self._future: Future[Figures] | None = None
        if not codes:  # nothing to count: neither a process nor a thread
            return
        if fork is None:
            fork = hasattr(os, "fork") and threading.active_count() == 1
        if fork:
            self._fork()
        else:
            self._pool = ThreadPoolExecutor(max_workers=1)
            self._future = self._pool.submit(failure_figures, *self._args)

    def _fork(self) -> None:
        read, write = os.pipe()
        with contextlib.suppress(OSError, AttributeError):
            fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, PIPE_BYTES)  # type: ignore[attr-defined]
        pid = os.fork()
        if pid == 0:  # the child: compute, write, leave without running any cleanup
            code = 1
            try:
                os.close(read)
                data = pickle.dumps(failure_figures(*self._args))
                with os.fdopen(write, "wb") as out:
                    out.write(data)
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self._pid, self._fd = pid, read

    def result(self) -> Figures:
        """The figures; computed here if the child failed (re-raises what the thread raised)."""
        if not self._args[1]:
            return {}
        if self._future is not None and self._pool is not None:
            try:
                return self._future.result()
            finally:
                self._pool.shutdown()
        with os.fdopen(self._fd, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self._pid, 0)
        if status != 0 or not data:
            return failure_figures(*self._args)
        figures: Figures = pickle.loads(data)
        return figures
