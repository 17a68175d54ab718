"""Faults on a real Snakemake run: a bootstrap job that dies is retried (``retries: 1`` in the
workflow profile); one that dies on every attempt fails the run with Snakemake's error report
and leaves the gathered result of the previous run untouched.

A job "dies" the way it does on a cluster node: its process is killed with SIGKILL while it
runs. The run works on a copy of the session's reference run (files copied with their
modification times, so only the removed bootstrap chunk and what depends on it are out of date).
"""

from __future__ import annotations

import hashlib
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import yaml

from pipeline import ROOT, snakemake_cmd, snakemake_env

pytestmark = pytest.mark.e2e

CHUNK = "pkpd/bootstrap/chunk_1-of-2.csv"
GATHERED = "pkpd/population_parameters.csv"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def copied_run(reference_run, tmp_path):
    """A copy of the session run (raw cut and results, mtimes kept) without one bootstrap chunk."""
    raw = tmp_path / "raw"
    results = tmp_path / "results"
    shutil.copytree(reference_run["raw"], raw, copy_function=shutil.copy2)
    shutil.copytree(reference_run["results"], results, copy_function=shutil.copy2)
    assert (ROOT / "profiles" / "default" / "config.yaml").is_file()
    (results / CHUNK).unlink()
    return raw, results


def _run_killing_chunks(raw: Path, results: Path, kills: int) -> tuple[subprocess.CompletedProcess, int]:
    """Run the pipeline; SIGKILL the first ``kills`` bootstrap-chunk processes it starts."""
    # the removed chunk is named as a target: Snakemake does not rebuild a missing intermediate
    # file on its own while the files made from it are up to date; the gathered result is the
    # other target (what is made from it, e.g. the regimen simulation, is not what is tested)
    cmd = snakemake_cmd(str(results / CHUNK), str(results / GATHERED), "--cores", "2", results=results, raw=raw)
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=snakemake_env())
    killed: set[int] = set()
    deadline = time.time() + 900
    try:
        while proc.poll() is None and time.time() < deadline:
            if len(killed) < kills:
                try:
                    children = psutil.Process(proc.pid).children(recursive=True)
                except psutil.NoSuchProcess:
                    children = []
                for child in children:
                    try:
                        cmdline = " ".join(child.cmdline())
                    except psutil.Error:
                        continue
                    if "pkpd_bootstrap_chunk" in cmdline and child.pid not in killed and child.name().startswith("python"):
                        child.send_signal(signal.SIGKILL)
                        killed.add(child.pid)
                        break
            time.sleep(0.05)
        out, _ = proc.communicate(timeout=max(1, deadline - time.time()))
    finally:
        if proc.poll() is None:
            proc.kill()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, ""), len(killed)


def test_profile_retries_failed_jobs():
    profile = yaml.safe_load((ROOT / "profiles" / "default" / "config.yaml").read_text())
    assert profile["retries"] >= 1
    slurm = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    assert slurm["retries"] >= 1


def test_a_killed_bootstrap_job_is_retried_and_the_result_is_unchanged(reference_run, copied_run):
    raw, results = copied_run
    proc, n_killed = _run_killing_chunks(raw, results, kills=1)
    assert n_killed == 1, "no bootstrap chunk process was seen"
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Trying to restart job" in proc.stdout or "attempt 2" in proc.stdout.lower(), proc.stdout[-3000:]
    # the retried chunk and everything gathered from it are the bytes of the uninterrupted run
    assert _sha(results / CHUNK) == reference_run["hashes"][CHUNK]
    assert _sha(results / GATHERED) == reference_run["hashes"][GATHERED]


def test_a_job_failing_on_every_attempt_fails_the_run_and_keeps_the_gathered_result(reference_run, copied_run):
    raw, results = copied_run
    before = _sha(results / GATHERED)
    proc, n_killed = _run_killing_chunks(raw, results, kills=2)  # first attempt and the retry
    assert n_killed == 2
    assert proc.returncode != 0
    assert "Error in rule pkpd_bootstrap_chunk" in proc.stdout, proc.stdout[-3000:]
    assert not (results / CHUNK).exists(), "a half-written chunk was left behind"
    assert _sha(results / GATHERED) == before, "the gathered result was modified by a failed run"
