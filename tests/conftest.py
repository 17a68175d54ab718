"""Shared pytest fixtures and paths."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFERENCE_RAW = ROOT / "resources" / "reference_study" / "raw"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def config() -> dict:
    import yaml

    with open(ROOT / "config" / "config.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def copy_cut(dest: Path) -> Path:
    """A copy of the reference data cut (tests may rewrite exports in it)."""
    import shutil

    shutil.copytree(REFERENCE_RAW, dest)
    return dest


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory):
    """The whole pipeline, run once per test session (``--cores 2``) on a copy of the reference study.

    ``hashes`` are the SHA-256 of every output right after this clean run (the run ledger
    excepted): tests that later rewrite exports in ``raw`` and rerun into ``results`` still
    have the clean run's fingerprint to compare other runs against.
    """
    from pipeline import LEDGER, snakemake, tree_hashes

    base = tmp_path_factory.mktemp("reference")
    raw = copy_cut(base / "raw")
    results = base / "results"
    proc = snakemake("--cores", "2", results=results, raw=raw)
    return {"base": base, "raw": raw, "results": results, "proc": proc, "hashes": tree_hashes(results, LEDGER)}
