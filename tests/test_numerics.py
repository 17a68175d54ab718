"""Pinned CPU code paths (config ``numerics``): every job's numpy and SciPy use the same
OpenBLAS kernels and numpy the same SIMD loops on any x86-64 CPU, so the PK/PD outputs are
byte-identical between machines (README, "Across machines (BLAS kernels)")."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fcrnpipe import numerics as N
from pipeline import ROOT, SNAKEMAKE

X86 = platform.machine() in N.X86_64


PIN = {"blas_coretype": "Nehalem", "numpy_simd": "baseline"}
DISPATCH = ["X86_V3", "X86_V4", "AVX512_ICL", "AVX512_SPR"]  # numpy 2.4 on x86-64


def test_pin_sets_both_variables_on_x86_64():
    assert N.job_environment(PIN, "x86_64", DISPATCH, {}) == N.JobEnv(
        {"OPENBLAS_CORETYPE": "Nehalem", "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"}, (), ())
    assert N.job_environment({"blas_coretype": "Prescott"}, "AMD64", DISPATCH, {"PATH": "/bin"}).set == {
        "OPENBLAS_CORETYPE": "Prescott"}
    # a numpy without dispatch targets: nothing to disable
    assert N.job_environment(PIN, "x86_64", [], {}).set == {"OPENBLAS_CORETYPE": "Nehalem"}


def test_pin_overrides_the_users_values_with_a_note():
    env = N.job_environment(PIN, "x86_64", ["X86_V3"], {"OPENBLAS_CORETYPE": "SandyBridge", "PATH": "/bin",
                                                       "NPY_DISABLE_CPU_FEATURES": "X86_V4",
                                                       "NPY_ENABLE_CPU_FEATURES": "X86_V3"})
    assert env.set == {"OPENBLAS_CORETYPE": "Nehalem", "NPY_DISABLE_CPU_FEATURES": "X86_V3"}
    # numpy refuses to import with both variables set
    assert env.unset == ("NPY_ENABLE_CPU_FEATURES",)
    assert env.notes == (
        "note: OPENBLAS_CORETYPE=SandyBridge overridden by config numerics.blas_coretype: "
        "jobs run with OPENBLAS_CORETYPE=Nehalem",
        "note: NPY_DISABLE_CPU_FEATURES=X86_V4 overridden by config numerics.numpy_simd: "
        "jobs run with NPY_DISABLE_CPU_FEATURES=X86_V3",
        "note: NPY_ENABLE_CPU_FEATURES removed by config numerics.numpy_simd: baseline",
    )
    # the same kernel (OpenBLAS compares names case-insensitively): nothing to say
    assert N.job_environment(PIN, "x86_64", [], {"OPENBLAS_CORETYPE": "NEHALEM"}).notes == ()


@pytest.mark.parametrize("machine", ["aarch64", "arm64", "ppc64le", "i686"])
def test_pin_leaves_the_libraries_alone_off_x86_64(machine):
    env = {"OPENBLAS_CORETYPE": "Haswell", "NPY_ENABLE_CPU_FEATURES": "ASIMDHP"}
    assert N.job_environment(PIN, machine, ["ASIMDHP"], env) == N.JobEnv({}, (), ())


def test_null_lets_the_libraries_choose():
    env = {"OPENBLAS_CORETYPE": "Haswell", "NPY_ENABLE_CPU_FEATURES": "X86_V3"}
    none = {"blas_coretype": None, "numpy_simd": None}
    assert N.job_environment(none, "x86_64", DISPATCH, env) == N.JobEnv({}, (), ())


def test_unknown_values_are_refused():
    # OpenBLAS itself would ignore an unknown kernel silently and pick by CPU
    with pytest.raises(ValueError, match="Zen3"):
        N.job_environment({"blas_coretype": "Zen3"}, "x86_64", [], {})
    with pytest.raises(ValueError, match="native"):
        N.job_environment({"numpy_simd": "native"}, "x86_64", [], {})


def test_schema_offers_exactly_the_known_values(config):
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text(encoding="utf-8"))
    prop = schema["properties"]["numerics"]
    assert prop["properties"]["blas_coretype"]["enum"] == [None, *N.CORETYPES]
    assert prop["properties"]["numpy_simd"]["enum"] == [None, "baseline"]
    assert config["numerics"] == prop["default"] == PIN


@pytest.mark.skipif(not X86, reason="the kernels are x86-64 ones")
def test_bundled_openblas_uses_the_pinned_kernel():
    """numpy's and SciPy's wheels each load their own OpenBLAS; both take the pinned kernel,
    and without the variable they choose one by CPU (SkylakeX on an AVX-512 machine)."""
    probe = "import json; from fcrnpipe.numerics import openblas_corenames as c; print(json.dumps(c()))"
    env = {k: v for k, v in os.environ.items() if k != N.CORETYPE_VAR}

    def run(e: dict[str, str]) -> dict[str, str]:
        out = subprocess.run([sys.executable, "-c", probe], env=e, capture_output=True, text=True, check=True,
                             timeout=120)
        return json.loads(out.stdout)

    assert run({**env, N.CORETYPE_VAR: "Nehalem"}) == {"numpy": "Nehalem", "scipy": "Nehalem"}
    own = run(env)
    assert set(own) == {"numpy", "scipy"} and own["numpy"] == own["scipy"]


PROBE_SNAKEFILE = """
configfile: "{root}/config/config.yaml"
include: "{root}/workflow/rules/common.smk"

rule probe:
    output: "probe.json"
    shell: "{python} probe.py {{output}}"
"""

PROBE_SCRIPT = """
import json, os, sys
from fcrnpipe.numerics import numpy_simd_in_use, openblas_corenames
with open(sys.argv[1], "w") as fh:
    json.dump({"OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"), "kernels": openblas_corenames(),
               "numpy_simd": numpy_simd_in_use()}, fh)
"""


@pytest.mark.skipif(not X86, reason="the pin applies on x86-64 only")
def test_a_job_runs_with_the_pinned_kernel_whatever_the_users_environment(tmp_path: Path):
    """The workflow (common.smk) exports the pin to its jobs: a job started from an environment
    that asks for another kernel (Prescott: one every x86-64 CPU has) and for numpy's SIMD
    targets gets the configured kernel and numpy's baseline code, and Snakemake prints a
    one-line note for each."""
    (tmp_path / "Snakefile").write_text(PROBE_SNAKEFILE.format(root=ROOT, python=sys.executable), encoding="utf-8")
    (tmp_path / "probe.py").write_text(PROBE_SCRIPT, encoding="utf-8")
    env = dict(os.environ, OPENBLAS_CORETYPE="Prescott", NPY_ENABLE_CPU_FEATURES=" ".join(N.numpy_simd_in_use()))
    proc = subprocess.run([SNAKEMAKE, "--cores", "1", "--nolock", "probe.json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads((tmp_path / "probe.json").read_text(encoding="utf-8"))
    assert seen == {"OPENBLAS_CORETYPE": "Nehalem", "kernels": {"numpy": "Nehalem", "scipy": "Nehalem"},
                    "numpy_simd": []}
    assert ("note: OPENBLAS_CORETYPE=Prescott overridden by config numerics.blas_coretype: "
            "jobs run with OPENBLAS_CORETYPE=Nehalem") in proc.stderr
    assert "note: NPY_ENABLE_CPU_FEATURES removed by config numerics.numpy_simd: baseline" in proc.stderr
