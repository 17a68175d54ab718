"""Rows of the compiled kernels in threads (issue 11).

The kernels of :mod:`fcrnpipe.models.kernels` integrate rows (parameter set x subject) one at a
time and independently, and release the GIL (``nogil=True``). :func:`run_rows` splits the rows
of one kernel call into contiguous, disjoint blocks and integrates them side by side in a fixed
pool of threads; each block writes only its own slice of the outputs and nothing is reduced
across blocks, so the result is bit-identical for any number of threads.

The number of threads is a setting of the caller, not of the library: 1 unless a caller says
otherwise with :func:`kernel_threads` (the fits do, with :attr:`fcrnpipe.nlme.FitOptions.threads`,
i.e. the rule's ``threads``, so that concurrent jobs do not oversubscribe the cores). The
setting is a context variable: the threads of the pool start with the default of 1, so work
that is already spread over threads (e.g. :func:`map_threads` over blocks of virtual subjects in
the regimen simulation) never splits again.

Not numba's ``parallel=True``/``prange``: its default (workqueue) threading layer is not
thread-safe, and kernels are also called from several Python threads at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Rows below which a kernel call is not split: each block holds at least this many rows.
#: Measured (``model.derivatives``/``predict`` of ``sc1cmt_mm`` and ``igg_turnover`` on the
#: rows of tests/test_models_threads.py, best of 15, 2 threads on a loaded 2-core machine): with
#: second derivatives the split gains from 8 rows on (1.3x from 32 rows), value-only calls
#: only from 64 rows; 32 keeps the 9-subject fits (9 rows per call) on one thread.
MIN_ROWS_PER_THREAD = 32

_THREADS: ContextVar[int] = ContextVar("fcrnpipe_kernel_threads", default=1)
_LOCAL = threading.local()
_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_POOL_LOCK = threading.Lock()


@contextmanager
def kernel_threads(n: int) -> Iterator[None]:
    """Within the block, kernel calls of this thread (:func:`run_rows`) use up to ``n`` threads."""
    token = _THREADS.set(max(1, int(n)))
    try:
        yield
    finally:
        _THREADS.reset(token)


def current_threads() -> int:
    """The threads kernel calls of this thread may use (1 inside a pool thread)."""
    return 1 if getattr(_LOCAL, "in_pool", False) else _THREADS.get()


def row_blocks(n_rows: int, threads: int, min_rows: int = MIN_ROWS_PER_THREAD) -> list[tuple[int, int]]:
    """Contiguous, disjoint ``[start, stop)`` blocks covering ``range(n_rows)`` in order: at most
    ``threads`` of them, each with at least ``min_rows`` rows (one block when there are fewer
    than ``2 min_rows`` rows), sizes differing by at most one.

    >>> row_blocks(100, 2)
    [(0, 50), (50, 100)]
    >>> row_blocks(63, 2), row_blocks(0, 2)
    ([(0, 63)], [(0, 0)])
    >>> row_blocks(100, 4, min_rows=30)
    [(0, 34), (34, 67), (67, 100)]
    """
    k = max(1, min(int(threads), int(n_rows) // max(int(min_rows), 1)))
    base, extra = divmod(int(n_rows), k)
    out, a = [], 0
    for i in range(k):
        b = a + base + (1 if i < extra else 0)
        out.append((a, b))
        a = b
    return out


def _mark_pool_thread() -> None:
    _LOCAL.in_pool = True


def _pool(size: int) -> ThreadPoolExecutor:
    """The shared pool, grown to at least ``size`` threads (created on first use)."""
    global _POOL, _POOL_SIZE
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE < size:
            old = _POOL
            _POOL = ThreadPoolExecutor(max_workers=size, thread_name_prefix="fcrnpipe-rows",
                                       initializer=_mark_pool_thread)
            _POOL_SIZE = size
            if old is not None:
                old.shutdown(wait=False)
        return _POOL


def map_threads(fn: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """``[fn(item) for item in items]``, up to ``workers`` items at a time: the first in the
    calling thread, the others in the shared pool (serially inside a pool thread, or with one
    worker or item). ``fn`` must not depend on which thread runs it."""
    items = list(items)
    if int(workers) <= 1 or len(items) <= 1 or getattr(_LOCAL, "in_pool", False):
        return [fn(it) for it in items]
    if len(items) > int(workers):  # more items than threads: chunks of consecutive items
        chunks = [items[a:b] for a, b in row_blocks(len(items), int(workers), 1)]
        return [r for part in map_threads(lambda c: [fn(it) for it in c], chunks, int(workers)) for r in part]
    futures = [_pool(len(items) - 1).submit(fn, it) for it in items[1:]]
    try:
        first = fn(items[0])
    finally:  # never leave work running behind an error
        wait(futures)
    return [first] + [f.result() for f in futures]


def run_rows(call: Callable[[int, int], None], n_rows: int, min_rows: int | None = None) -> None:
    """``call(start, stop)`` over the :func:`row_blocks` of ``n_rows`` rows with the threads of
    :func:`kernel_threads` (blocks of at least ``min_rows``, default :data:`MIN_ROWS_PER_THREAD`);
    ``call`` integrates rows ``start:stop`` into their own output slices."""
    blocks = row_blocks(n_rows, current_threads(), MIN_ROWS_PER_THREAD if min_rows is None else min_rows)
    map_threads(lambda ab: call(*ab), blocks, len(blocks))
