"""The whole pipeline on a real Slurm cluster gives the same bytes as a local run.

Run by ``make test-cluster`` (scripts/cluster/test_cluster.sh), which starts a single-node
Slurm on localhost (munge, slurmctld, slurmd) and sets SLURM_CONF. The cluster has no
accounting daemon, so job status comes from ``squeue`` (``--slurm-status-command squeue``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipeline import planned_jobs, snakemake, tree_hashes

pytestmark = pytest.mark.cluster

#: Run records that differ by nature between two runs (the ledger itself).
EXCLUDE = ("provenance/runs.jsonl",)


@pytest.fixture(scope="module")
def work() -> Path:
    if not os.environ.get("SLURM_CONF") or not shutil.which("sbatch"):
        pytest.fail("no Slurm cluster: run this through `make test-cluster`")
    return Path(os.environ.get("FCRN_CLUSTER_WORK", "/tmp")) / "runs"


def test_slurm_run_matches_local_run(work):
    local = work / "local" / "results"
    slurm = work / "slurm" / "results"
    snakemake("--cores", "2", results=local)
    proc = snakemake(
        "--workflow-profile", "profiles/slurm",
        "--slurm-status-command", "squeue",
        "--slurm-init-seconds-before-status-checks", "2",
        "--slurm-no-account",
        "--jobs", "4",
        # the test node has 2 CPUs: group jobs stack their parallel members to fit
        "--cores", "2",
        results=slurm,
        timeout=1500,
    )  # fmt: skip
    text = proc.stdout + proc.stderr
    assert "has been submitted with SLURM jobid" in text, "jobs were not submitted to Slurm"
    a, b = tree_hashes(local, EXCLUDE), tree_hashes(slurm, EXCLUDE)
    differing = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    assert not differing, f"outputs differ between the local and the Slurm run: {differing}"
    assert len(a) > 50
    # and the cluster run is complete: nothing left to do
    again = snakemake("--workflow-profile", "profiles/slurm", "--slurm-status-command", "squeue",
                      "--slurm-no-account", "-n", results=slurm)
    assert planned_jobs(again) == {}
