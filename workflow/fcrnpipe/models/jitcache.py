"""Loading the compiled kernels from numba's on-disk cache without numba's compiler set-up
(issue 11; docs/nlme.md, "Start-up cost").

numba's ``FunctionCache.load_overload`` calls ``target_context.refresh()`` before it reads a
cached overload. The refresh imports ~200 of numba's own modules (its typed containers, linear
algebra, random generators, ...) and installs their typing and lowering registries: what
*compiling* needs, 0.17-0.18 s of CPU -- half of what the first kernel call of a process paid.
Rebuilding a cached overload (unpickling its function descriptor and environment, handing the
object code to LLVM's JIT, wrapping its entry point) needs only the runtime (NRT): its C helpers
registered with LLVM and its atomic functions compiled, ``rtsys.initialize``, ~0.015 s.

:class:`LoadOnlyCache` is numba's cache with that one difference: it initialises the runtime
instead of refreshing the whole target before loading. Everything else is numba's own code:
the same index and data files, the same keys (signature, target, source stamp), the same
rebuild, so the loaded machine code -- and every number it computes -- is the same. Saving is
unchanged, and a miss (no cache yet, a new signature, an edited source) compiles as before:
numba's compiler refreshes the target itself before compiling.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from numba.core.caching import FunctionCache
from numba.core.dispatcher import Dispatcher
from numba.core.runtime import rtsys


class LoadOnlyCache(FunctionCache):
    """numba's per-function disk cache that loads without ``target_context.refresh()``."""

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        rtsys.initialize(target_context)  # what a rebuilt overload needs (idempotent)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)
        return None  # the guard swallowed an I/O error: numba compiles instead


def load_only(*dispatchers: Any) -> None:
    """Give each cached numba dispatcher (``@njit(cache=True)``) a :class:`LoadOnlyCache`.

    Dispatchers without a disk cache (``cache=False``) and plain functions (``NUMBA_DISABLE_JIT``)
    are left as they are."""
    for d in dispatchers:
        cache = getattr(d, "_cache", None)
        if isinstance(cache, FunctionCache) and not isinstance(cache, LoadOnlyCache):
            # the same object, re-classed (LoadOnlyCache adds no state): a new cache would
            # locate and probe the cache directory again (~0.3 ms per function)
            cache.__class__ = LoadOnlyCache


def load_only_in(namespace: Mapping[str, Any]) -> None:
    """:func:`load_only` on every numba dispatcher of a module's ``namespace`` (``globals()``):
    its entry points and the helpers compiled into them (never loaded on their own)."""
    load_only(*(v for v in list(namespace.values()) if isinstance(v, Dispatcher)))
