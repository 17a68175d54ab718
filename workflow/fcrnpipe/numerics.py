"""Pinned BLAS kernels: the same floating-point path for the pipeline's jobs on every x86-64 CPU.

numpy's and SciPy's wheels each bundle an OpenBLAS built with ``DYNAMIC_ARCH``: at load time it
picks its kernels by CPU (Haswell, SkylakeX, Zen, ...), and kernels of different vector widths
round ``@``, ``linalg`` and SciPy's optimisers differently (~1e-9 relative in the PK/PD fits).
``OPENBLAS_CORETYPE`` forces one kernel set, as Intel MKL's ``MKL_CBWR`` does for MKL
(conditional numerical reproducibility). OpenBLAS does not check that the CPU can run the kernel
it is told to use (it would stop on an illegal instruction), so the pinned kernel must be one
every CPU the wheels run on has: Nehalem (SSE4.2, x86-64-v2) is numpy's own baseline.

Only on x86-64: the names are x86 kernels, and on other CPUs (arm64, ppc64le) OpenBLAS is left to
choose.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Mapping
from typing import NamedTuple

#: The variable OpenBLAS reads once, when the library loads.
CORETYPE_VAR = "OPENBLAS_CORETYPE"

#: Kernel sets of x86-64 CPU generations that ``numerics.blas_coretype`` accepts (OpenBLAS's
#: names; it compares them case-insensitively and silently ignores a name it does not know).
#: Prescott: SSE3; Nehalem: SSE4.2 (x86-64-v2); SandyBridge: AVX; Haswell: AVX2 + FMA
#: (x86-64-v3); SkylakeX: AVX-512 (x86-64-v4).
CORETYPES = ("Prescott", "Nehalem", "SandyBridge", "Haswell", "SkylakeX")

#: ``platform.machine()`` of x86-64 (Linux/macOS, Windows).
X86_64 = ("x86_64", "AMD64", "amd64")


class BlasPin(NamedTuple):
    """The variables to export to every job, and a one-line note for the user (or None)."""

    env: dict[str, str]
    note: str | None


def blas_pin(coretype: str | None, machine: str, environ: Mapping[str, str]) -> BlasPin:
    """The BLAS environment of the pipeline's jobs for config ``numerics.blas_coretype``.

    ``coretype`` None, or a CPU that is not x86-64 (``machine`` from ``platform.machine()``):
    nothing is set, OpenBLAS chooses (a user's own ``OPENBLAS_CORETYPE`` stays as it is).
    Otherwise ``OPENBLAS_CORETYPE=coretype``, overriding a different value in ``environ`` with a
    note that says so.

    >>> blas_pin("Nehalem", "x86_64", {})
    BlasPin(env={'OPENBLAS_CORETYPE': 'Nehalem'}, note=None)
    >>> blas_pin("Nehalem", "x86_64", {"OPENBLAS_CORETYPE": "Haswell"}).note
    'note: OPENBLAS_CORETYPE=Haswell overridden by config numerics.blas_coretype: jobs run with OPENBLAS_CORETYPE=Nehalem'
    >>> blas_pin("Nehalem", "aarch64", {})
    BlasPin(env={}, note=None)
    >>> blas_pin(None, "x86_64", {"OPENBLAS_CORETYPE": "Haswell"})
    BlasPin(env={}, note=None)
    """
    if coretype is None or machine not in X86_64:
        return BlasPin({}, None)
    if coretype not in CORETYPES:
        raise ValueError(f"numerics.blas_coretype {coretype!r}: not one of {', '.join(CORETYPES)}")
    user = environ.get(CORETYPE_VAR)
    note = None
    if user is not None and user.lower() != coretype.lower():
        note = (f"note: {CORETYPE_VAR}={user} overridden by config numerics.blas_coretype: "
                f"jobs run with {CORETYPE_VAR}={coretype}")
    return BlasPin({CORETYPE_VAR: coretype}, note)


# The bundled OpenBLAS of numpy's and SciPy's wheels (scipy-openblas) and its corename function.
_BUNDLED = (
    ("numpy", "numpy.libs/libscipy_openblas64_*", "scipy_openblas_get_corename64_"),
    ("scipy", "scipy.libs/libscipy_openblas-*", "scipy_openblas_get_corename"),
)


def openblas_corenames() -> dict[str, str]:
    """The kernel set each bundled OpenBLAS of this process uses: {"numpy": ..., "scipy": ...}.

    Loads numpy and SciPy (a library OpenBLAS reads ``OPENBLAS_CORETYPE`` when it loads) and
    asks each wheel's OpenBLAS, as threadpoolctl would. A wheel without a bundled OpenBLAS (a
    conda or distribution build) is left out. The names are OpenBLAS's: Prescott reports as
    "Katmai" (the same kernels in these builds), SandyBridge as "Sandybridge".
    """
    import numpy
    import scipy.linalg  # noqa: F401 (loads SciPy's OpenBLAS)

    site = os.path.dirname(os.path.dirname(numpy.__file__))
    out = {}
    for name, pattern, symbol in _BUNDLED:
        for path in sorted(glob.glob(os.path.join(site, pattern))):
            fn = getattr(ctypes.CDLL(path), symbol, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                out[name] = fn().decode()
                break
    return out
