"""``scripts/fit_nlme.py`` runs BLAS single-threaded unless the environment says otherwise
(as Snakemake sets it for a one-thread rule job; docs/nlme.md, "Start-up cost")."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
# load the script as a module (not as __main__: no fit; its imports load numpy and SciPy, each
# with its BLAS), then report the variables and the threads of the process (Linux)
PROBE = (
    "import json, os, runpy, sys; runpy.run_path(sys.argv[1], run_name='probe'); "
    "t = len(os.listdir('/proc/self/task')) if os.path.isdir('/proc/self/task') else None; "
    "print(json.dumps({v: os.environ.get(v) for v in %r} | {'threads': t}))" % (VARS,)
)


def _probe(env_extra: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in VARS} | env_extra
    proc = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "scripts" / "fit_nlme.py")],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_cli_defaults_blas_to_one_thread_and_keeps_the_users_choice():
    default = _probe({})
    assert {v: default[v] for v in VARS} == dict.fromkeys(VARS, "1")
    user = _probe({"OPENBLAS_NUM_THREADS": "2"})
    assert user["OPENBLAS_NUM_THREADS"] == "2" and user["MKL_NUM_THREADS"] == "1"
    if default["threads"] is None:
        pytest.skip("no /proc/self/task: thread count not measurable here")
    # set before numpy loaded its BLAS: fewer threads than with two BLAS threads (a spare
    # thread each in numpy's and SciPy's OpenBLAS)
    assert default["threads"] < user["threads"]


# run the command line in this process's interpreter, then list the heavy packages it loaded
# (docs/nlme.md, "Start-up cost": pandas and pyarrow alone were ~0.25 s of CPU of a ~0.85 s
# Theoph run; a plain fit reads the CSV and writes its tables without them)
IMPORTS_PROBE = (
    "import json, runpy, sys; sys.argv = sys.argv[1:]; "
    "exec('try:\\n runpy.run_path(sys.argv[0], run_name=\"__main__\")\\nexcept SystemExit as e:\\n code = e.code'); "
    "print(json.dumps({'code': code, 'loaded': sorted(m for m in %r if m in sys.modules)}))"
    % (("pandas", "pyarrow", "numba", "matplotlib", "yaml", "scipy.stats", "scipy.integrate"),)
)


def test_theoph_cli_process_does_not_import_pandas_or_other_heavy_packages(tmp_path):
    args = ["--data", str(ROOT / "tests" / "data" / "theoph_nm.csv"), "--model", "oral1cmt", "--param", "ssfol",
            "--error", "additive", "--out", str(tmp_path / "out")]
    proc = subprocess.run([sys.executable, "-c", IMPORTS_PROBE, str(ROOT / "scripts" / "fit_nlme.py"), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "loaded": []}
    assert (tmp_path / "out" / "predictions.csv").stat().st_size > 0  # the fit ran
