"""Helpers for end-to-end tests: run Snakemake on a data cut into a temporary results folder."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
FAST_CONFIG = ROOT / "tests" / "data" / "fast_config.yaml"
REFERENCE_RAW = ROOT / "resources" / "reference_study" / "raw"
#: The run ledger is the only output allowed to differ between two runs of the same inputs.
LEDGER = ("provenance/runs.jsonl",)


def snakemake(
    *args: str,
    results: Path,
    raw: Path | None = None,
    fast: bool = True,
    check: bool = True,
    timeout: int = 1200,
    extra_config: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run ``snakemake`` from the repository root with results/logs under ``results``'s parent.

    ``fast`` layers tests/data/fast_config.yaml (fewer bootstrap/VPC replicates) over the
    shipped config, so the end-to-end tests stay within the time budget. ``env``: extra
    environment variables (e.g. ``OPENBLAS_CORETYPE``).
    """
    cmd = [SNAKEMAKE, *args]
    if fast:
        cmd += ["--configfile", str(ROOT / "config" / "config.yaml"), str(FAST_CONFIG)]
    cmd += ["--config", f"results_dir={results}", f"logs_dir={results.parent / 'logs'}"]
    if raw is not None:
        cmd.append(f"raw_dir={raw}")
    cmd += list(extra_config)
    env = dict(os.environ, PYTHONHASHSEED="0", **(env or {}))
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}): {' '.join(cmd)}\n--- stderr (tail) ---\n"
            + "\n".join(proc.stderr.splitlines()[-60:])
        )
    return proc


def tree_hashes(folder: Path, exclude: tuple[str, ...] = ()) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (relative POSIX paths), minus excluded prefixes."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            rel = p.relative_to(folder).as_posix()
            if any(rel == e or rel.startswith(e) for e in exclude):
                continue
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def planned_jobs(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """The 'Job stats' table of a (dry-)run: rule -> number of jobs."""
    lines = (proc.stdout + "\n" + proc.stderr).splitlines()
    stats: dict[str, int] = {}
    try:
        start = next(i for i, line in enumerate(lines) if line.strip().startswith("job") and "count" in line)
    except StopIteration:
        return stats
    for line in lines[start + 2:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        if parts[0] != "total":
            stats[parts[0]] = int(parts[1])
    return stats
