"""Pinned BLAS kernels (config ``numerics.blas_coretype``): every job's numpy and SciPy use the
same OpenBLAS kernels on any x86-64 CPU, so the PK/PD outputs are byte-identical between
machines (README, "Across machines (BLAS kernels)")."""

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


def test_pin_sets_the_coretype_on_x86_64():
    assert N.blas_pin("Nehalem", "x86_64", {}) == N.BlasPin({"OPENBLAS_CORETYPE": "Nehalem"}, None)
    assert N.blas_pin("Prescott", "AMD64", {"PATH": "/bin"}).env == {"OPENBLAS_CORETYPE": "Prescott"}


def test_pin_overrides_the_users_coretype_with_a_note():
    pin = N.blas_pin("Nehalem", "x86_64", {"OPENBLAS_CORETYPE": "SandyBridge"})
    assert pin.env == {"OPENBLAS_CORETYPE": "Nehalem"}
    assert pin.note == ("note: OPENBLAS_CORETYPE=SandyBridge overridden by config numerics.blas_coretype: "
                        "jobs run with OPENBLAS_CORETYPE=Nehalem")
    # the same kernel (OpenBLAS compares names case-insensitively): nothing to say
    assert N.blas_pin("Nehalem", "x86_64", {"OPENBLAS_CORETYPE": "NEHALEM"}).note is None


@pytest.mark.parametrize("machine", ["aarch64", "arm64", "ppc64le", "i686"])
def test_pin_leaves_openblas_alone_off_x86_64(machine):
    assert N.blas_pin("Nehalem", machine, {"OPENBLAS_CORETYPE": "Haswell"}) == N.BlasPin({}, None)


def test_null_lets_openblas_choose():
    assert N.blas_pin(None, "x86_64", {"OPENBLAS_CORETYPE": "Haswell"}) == N.BlasPin({}, None)


def test_unknown_kernel_is_refused():
    # OpenBLAS itself would ignore it silently and pick by CPU
    with pytest.raises(ValueError, match="Zen3"):
        N.blas_pin("Zen3", "x86_64", {})


def test_schema_offers_exactly_the_known_kernels(config):
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text(encoding="utf-8"))
    prop = schema["properties"]["numerics"]
    assert prop["properties"]["blas_coretype"]["enum"] == [None, *N.CORETYPES]
    assert config["numerics"] == prop["default"] == {"blas_coretype": "Nehalem"}


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
from fcrnpipe.numerics import openblas_corenames
with open(sys.argv[1], "w") as fh:
    json.dump({"OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"), "kernels": openblas_corenames()}, fh)
"""


@pytest.mark.skipif(not X86, reason="the pin applies on x86-64 only")
def test_a_job_runs_with_the_pinned_kernel_whatever_the_users_environment(tmp_path: Path):
    """The workflow (common.smk) exports the pin to its jobs: a job started from an environment
    that asks for another kernel (Prescott: one every x86-64 CPU has) gets the configured one,
    and Snakemake prints a one-line note."""
    (tmp_path / "Snakefile").write_text(PROBE_SNAKEFILE.format(root=ROOT, python=sys.executable), encoding="utf-8")
    (tmp_path / "probe.py").write_text(PROBE_SCRIPT, encoding="utf-8")
    env = dict(os.environ, OPENBLAS_CORETYPE="Prescott")
    proc = subprocess.run([SNAKEMAKE, "--cores", "1", "--nolock", "probe.json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads((tmp_path / "probe.json").read_text(encoding="utf-8"))
    assert seen == {"OPENBLAS_CORETYPE": "Nehalem", "kernels": {"numpy": "Nehalem", "scipy": "Nehalem"}}
    assert ("note: OPENBLAS_CORETYPE=Prescott overridden by config numerics.blas_coretype: "
            "jobs run with OPENBLAS_CORETYPE=Nehalem") in proc.stderr
