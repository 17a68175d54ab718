"""The compiled kernels load from numba's disk cache without numba's compiler set-up
(fcrnpipe.models.jitcache; docs/nlme.md, "Start-up cost").

* Every cached dispatcher of :mod:`fcrnpipe.models.kernels` (the entry points called from
  Python and the helpers compiled into them) has the :class:`LoadOnlyCache`.
* In a fresh process with a warm cache, calls of both kernels compile nothing (no cache miss)
  and do not refresh numba's target (a module only the refresh imports stays unloaded), and
  they compute the same bits as the kernels loaded by numba's own cache.
* On a function of its own: a miss compiles and saves as numba does, the next process loads it
  without the refresh, and an exception raised inside the compiled code still reaches Python.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from numba.core.caching import FunctionCache
from numba.core.dispatcher import Dispatcher

from fcrnpipe.models import kernels
from fcrnpipe.models.jitcache import LoadOnlyCache

TESTS = Path(__file__).resolve().parent
#: imported by numba's ``target_context.refresh()``, by nothing on the kernels' load path
REFRESH_ONLY = ("numba.typed.typedlist", "numba.np.linalg", "numba.np.random.generator_methods")


def _run(code: str, *args: str, cwd: Path = TESTS) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_DISABLE_JIT", "NUMBA_CACHE_DIR")}
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_every_kernel_dispatcher_has_the_load_only_cache():
    cached = {name: type(d._cache).__name__ for name, d in vars(kernels).items()
              if isinstance(d, Dispatcher) and isinstance(d._cache, FunctionCache)}
    assert {"mab_jets", "igg_jets", "_rhs_jets", "_jac_jets"} <= set(cached)
    assert cached == dict.fromkeys(cached, "LoadOnlyCache")


# both kernels on the models of tests/test_models_kernels.py (values, first and second
# derivatives); ``numba`` as the argument: loaded by numba's own FunctionCache instead
KERNEL_PROBE = textwrap.dedent("""
    import hashlib, json, sys
    import numpy as np
    from test_models_kernels import diff_spec, setup
    from fcrnpipe.models import kernels
    if sys.argv[1] == "numba":
        from numba.core.caching import FunctionCache
        for d in (kernels.mab_jets, kernels.igg_jets):
            d._cache = FunctionCache(d.py_func)
    digest = hashlib.sha256()
    for case in ("sc1cmt_mm", "igg_turnover", "joint"):
        model, prep, params, sid = setup(case)
        diff, logs = diff_spec(model, case)
        for a in model.derivatives(prep, params, sid, diff, logs, True):
            digest.update(np.ascontiguousarray(a).tobytes())
    stats = {n: getattr(kernels, n).stats for n in ("mab_jets", "igg_jets")}
    print(json.dumps({"digest": digest.hexdigest(),
                      "hits": {n: sum(s.cache_hits.values()) for n, s in stats.items()},
                      "misses": {n: sum(s.cache_misses.values()) for n, s in stats.items()},
                      "refresh_modules": sorted(m for m in %r if m in sys.modules)}))
""" % (REFRESH_ONLY,))


def test_warm_kernel_calls_load_without_compiling_or_refreshing_and_compute_the_same_bits():
    _run(KERNEL_PROBE, "light")  # warms the cache if this checkout's kernels were never compiled
    light = _run(KERNEL_PROBE, "light")
    assert light["misses"] == {"mab_jets": 0, "igg_jets": 0}  # no run-time compilation
    assert light["hits"]["mab_jets"] >= 1 and light["hits"]["igg_jets"] >= 1
    assert light["refresh_modules"] == []
    full = _run(KERNEL_PROBE, "numba")
    assert full["misses"] == {"mab_jets": 0, "igg_jets": 0}
    assert full["refresh_modules"] == sorted(REFRESH_ONLY)  # numba's own load refreshes
    assert light["digest"] == full["digest"]


TOY = textwrap.dedent("""
    import numpy as np
    from numba import njit
    from fcrnpipe.models.jitcache import load_only

    @njit(cache=True)
    def scaled_sum(x, k):
        if k < 0:
            raise ValueError("negative scale")
        s = 0.0
        for i in range(x.shape[0]):
            s += k * x[i]
        return s

    load_only(scaled_sum)
""")

TOY_PROBE = textwrap.dedent("""
    import json, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import toykernel
    value = toykernel.scaled_sum(np.arange(5.0), 0.5)
    try:
        toykernel.scaled_sum(np.arange(5.0), -1.0)
        error = None
    except ValueError as exc:
        error = str(exc)
    s = toykernel.scaled_sum.stats
    print(json.dumps({"value": value, "error": error, "hits": sum(s.cache_hits.values()),
                      "misses": sum(s.cache_misses.values()),
                      "refresh_modules": sorted(m for m in %r if m in sys.modules)}))
""" % (REFRESH_ONLY,))


def test_a_miss_compiles_and_saves_and_the_next_process_loads_it_light(tmp_path):
    (tmp_path / "toykernel.py").write_text(TOY)
    first = _run(TOY_PROBE, str(tmp_path), cwd=tmp_path)
    assert (first["hits"], first["misses"]) == (0, 1)  # compiled (numba refreshed to compile)
    assert first["refresh_modules"] == sorted(REFRESH_ONLY)
    assert list((tmp_path / "__pycache__").glob("toykernel.scaled_sum-*.nbi"))
    second = _run(TOY_PROBE, str(tmp_path), cwd=tmp_path)
    assert (second["hits"], second["misses"]) == (1, 0)
    assert second["refresh_modules"] == []
    assert second["value"] == first["value"] == 5.0
    assert second["error"] == first["error"] == "negative scale"
