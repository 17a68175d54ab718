"""Pinned CPU code paths: the same floating-point path for the pipeline's jobs on every x86-64 CPU.

Two libraries choose their code by CPU when they load, and the choices round differently (~1e-9
relative in the PK/PD fits):

* numpy's and SciPy's wheels each bundle an OpenBLAS built with ``DYNAMIC_ARCH`` that picks its
  kernels (Haswell, SkylakeX, Zen, ...) for ``@``, ``linalg`` and SciPy's optimisers;
  ``OPENBLAS_CORETYPE`` forces one kernel set, as Intel MKL's ``MKL_CBWR`` does for MKL
  (conditional numerical reproducibility). OpenBLAS does not check that the CPU can run the
  kernel it is told to use (it would stop on an illegal instruction), so the pinned kernel must
  be one every CPU the wheels run on has: Nehalem (SSE4.2, x86-64-v2) is numpy's own baseline.
* numpy dispatches its ufunc loops (``exp``, ``log``, reductions, ...) to AVX2/AVX-512 versions
  above its baseline; ``NPY_DISABLE_CPU_FEATURES`` listing every dispatch target keeps it on the
  baseline code, which every CPU this numpy runs on has (disabling a target the CPU lacks is a
  no-op; numpy refuses only baseline features, and both variables at once).

Only on x86-64: the names are x86 ones, and on other CPUs (arm64, ppc64le) the libraries are left
to choose.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

#: The variable OpenBLAS reads once, when the library loads.
CORETYPE_VAR = "OPENBLAS_CORETYPE"
#: The variables numpy reads once, at import (setting both is an ImportError).
NPY_DISABLE_VAR = "NPY_DISABLE_CPU_FEATURES"
NPY_ENABLE_VAR = "NPY_ENABLE_CPU_FEATURES"

#: Kernel sets of x86-64 CPU generations that ``numerics.blas_coretype`` accepts (OpenBLAS's
#: names; it compares them case-insensitively and silently ignores a name it does not know).
#: Prescott: SSE3; Nehalem: SSE4.2 (x86-64-v2); SandyBridge: AVX; Haswell: AVX2 + FMA
#: (x86-64-v3); SkylakeX: AVX-512 (x86-64-v4).
CORETYPES = ("Prescott", "Nehalem", "SandyBridge", "Haswell", "SkylakeX")

#: ``platform.machine()`` of x86-64 (Linux/macOS, Windows).
X86_64 = ("x86_64", "AMD64", "amd64")


class JobEnv(NamedTuple):
    """What the workflow does to its jobs' environment: variables to set, variables to remove,
    and one-line notes for the user."""

    set: dict[str, str]
    unset: tuple[str, ...]
    notes: tuple[str, ...]


def _override_note(var: str, user: str | None, value: str, key: str) -> tuple[str, ...]:
    if user is None or user.lower() == value.lower():
        return ()
    return (f"note: {var}={user} overridden by config numerics.{key}: jobs run with {var}={value}",)


def job_environment(numerics: Mapping[str, Any], machine: str, numpy_dispatch: Sequence[str],
                    environ: Mapping[str, str]) -> JobEnv:
    """The pinned environment of the pipeline's jobs for config ``numerics``.

    ``blas_coretype`` (an OpenBLAS kernel of :data:`CORETYPES`) sets ``OPENBLAS_CORETYPE``;
    ``numpy_simd: baseline`` sets ``NPY_DISABLE_CPU_FEATURES`` to every target of
    ``numpy_dispatch`` (numpy's ``__cpu_dispatch__``) and removes ``NPY_ENABLE_CPU_FEATURES``.
    A value of ``environ`` that differs is overridden with a note. None, or a CPU that is not
    x86-64 (``machine`` from ``platform.machine()``): nothing is set, the library chooses (a
    user's own variable stays as it is).

    >>> job_environment({"blas_coretype": "Nehalem", "numpy_simd": "baseline"}, "x86_64", ["X86_V3", "X86_V4"], {})
    JobEnv(set={'OPENBLAS_CORETYPE': 'Nehalem', 'NPY_DISABLE_CPU_FEATURES': 'X86_V3 X86_V4'}, unset=(), notes=())
    >>> job_environment({"blas_coretype": "Nehalem"}, "x86_64", [], {"OPENBLAS_CORETYPE": "Haswell"}).notes
    ('note: OPENBLAS_CORETYPE=Haswell overridden by config numerics.blas_coretype: jobs run with OPENBLAS_CORETYPE=Nehalem',)
    >>> job_environment({"blas_coretype": "Nehalem", "numpy_simd": "baseline"}, "aarch64", ["ASIMDHP"], {})
    JobEnv(set={}, unset=(), notes=())
    """
    out: dict[str, str] = {}
    unset: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    if machine not in X86_64:
        return JobEnv(out, unset, notes)
    coretype = numerics.get("blas_coretype")
    if coretype is not None:
        if coretype not in CORETYPES:
            raise ValueError(f"numerics.blas_coretype {coretype!r}: not one of {', '.join(CORETYPES)}")
        out[CORETYPE_VAR] = coretype
        notes += _override_note(CORETYPE_VAR, environ.get(CORETYPE_VAR), coretype, "blas_coretype")
    simd = numerics.get("numpy_simd")
    if simd is not None:
        if simd != "baseline":
            raise ValueError(f"numerics.numpy_simd {simd!r}: 'baseline' or null")
        if numpy_dispatch:
            value = " ".join(numpy_dispatch)
            out[NPY_DISABLE_VAR] = value
            notes += _override_note(NPY_DISABLE_VAR, environ.get(NPY_DISABLE_VAR), value, "numpy_simd")
        if NPY_ENABLE_VAR in environ:
            unset = (NPY_ENABLE_VAR,)
            notes += (f"note: {NPY_ENABLE_VAR} removed by config numerics.numpy_simd: baseline",)
    return JobEnv(out, unset, notes)


def numpy_dispatch() -> list[str]:
    """numpy's dispatch targets (the SIMD extensions above its baseline it may use), e.g.
    ``['X86_V3', 'X86_V4', 'AVX512_ICL', 'AVX512_SPR']`` for numpy 2.4 on x86-64."""
    from numpy._core._multiarray_umath import __cpu_dispatch__

    return list(__cpu_dispatch__)


def numpy_simd_in_use() -> list[str]:
    """The dispatch targets numpy uses in this process (the CPU has them and
    ``NPY_DISABLE_CPU_FEATURES`` does not list them); [] on the baseline code alone."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    return [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]


# The bundled OpenBLAS of numpy's and SciPy's wheels (scipy-openblas) and its corename function.
_BUNDLED = (
    ("numpy", "numpy.libs/libscipy_openblas64_*", "scipy_openblas_get_corename64_"),
    ("scipy", "scipy.libs/libscipy_openblas-*", "scipy_openblas_get_corename"),
)


def openblas_corenames() -> dict[str, str]:
    """The kernel set each bundled OpenBLAS of this process uses: {"numpy": ..., "scipy": ...}.

    Loads numpy and SciPy (each OpenBLAS reads ``OPENBLAS_CORETYPE`` when it loads) and asks
    each wheel's OpenBLAS, as threadpoolctl would. A wheel without a bundled OpenBLAS (a
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
