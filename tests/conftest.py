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

    shutil.copytree(REFERENCE_RAW, dest)  # copy2: the repository files' modification times
    return dest


def session_uses(session, fixture: str) -> bool:
    """Whether a test selected in this pytest session uses ``fixture`` (e.g. ``reference_run``)."""
    return any(fixture in getattr(item, "fixturenames", ()) for item in session.items)


def seed_from_reference_run(request, results: Path, stages: tuple[str, ...]) -> Path:
    """A results folder for a run on the reference cut (its files in the repository) to later
    targets: if the session runs ``reference_run`` anyway, it starts with a copy of that run's
    ``stages`` folders (e.g. validation, adam; files copied with their modification times), so
    that the run does not redo them. Otherwise it starts empty."""
    import shutil

    results.mkdir(parents=True)
    if session_uses(request.session, "reference_run"):
        ref = request.getfixturevalue("reference_run")["results"]
        for stage in stages:
            shutil.copytree(ref / stage, results / stage, copy_function=shutil.copy2)
    return results


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


#: The ADaM datasets of the derive stage.
ADAM = ["adsl", "adex", "adlb", "adpc", "adedss", "adae"]


@pytest.fixture(scope="session")
def valid_cut_run(tmp_path_factory) -> Path:
    """The validation and derive stages (``--cores 2``) on the valid 3-subject cut of
    tests/cutfactory.py, run once per session: ``raw``, ``results`` and ``logs`` under the folder
    returned. Tests that rerun or change it work on a copy (:func:`copy_run`)."""
    from cutfactory import DOMAINS, make_valid_cut
    from pipeline import snakemake

    base = tmp_path_factory.mktemp("valid_cut")
    raw = make_valid_cut(base / "raw")
    res = base / "results"
    targets = [res / "validation" / "failures.csv", res / "validation" / "report.html"]
    targets += [res / "validation" / f"{d}.parquet" for d in DOMAINS]
    targets += [res / "adam" / f"{n}.{ext}" for n in ADAM for ext in ("parquet", "csv")]
    snakemake("--cores", "2", *map(str, targets), results=res, raw=raw)
    return base


def copy_run(run: Path, dest: Path) -> tuple[Path, Path]:
    """A copy of a run's folder (raw, results, logs) with the files' modification times, so that
    nothing in it is out of date: ``(raw, results)`` of the copy."""
    import shutil

    shutil.copytree(run, dest, copy_function=shutil.copy2, dirs_exist_ok=True)
    return dest / "raw", dest / "results"


# ----------------------------------------------------------------------------- background runs
#: Session fixtures made by runs in the background (tests/pipeline.py: BackgroundRun): started
#: when collection ends if a selected test uses them, so that they run alongside the tests that
#: come before their first user (mostly single-threaded unit tests, which leave a core idle).
BACKGROUND = {"killed_run": "KilledRun", "realistic_run": "RealisticRun"}
_started: dict = {}


def _background(name: str, tmp_path_factory):
    import pipeline

    if name not in _started:
        _started[name] = getattr(pipeline, BACKGROUND[name])(tmp_path_factory.mktemp(name)).start()
    return _started[name]


def pytest_collection_finish(session):
    if session.config.option.collectonly:
        return
    for name in BACKGROUND:
        if session_uses(session, name):
            _background(name, session.config._tmp_path_factory)


def pytest_sessionfinish(session):
    for run in _started.values():
        run.stop()


@pytest.fixture(scope="session")
def killed_run(tmp_path_factory) -> dict:
    """A ``--cores 1`` run killed mid-DAG and resumed, what it observed (tests/pipeline.py: KilledRun)."""
    return _background("killed_run", tmp_path_factory).result()


@pytest.fixture(scope="session")
def realistic_run(tmp_path_factory) -> dict:
    """The pipeline and report on a small realistic cut (tests/pipeline.py: RealisticRun)."""
    return _background("realistic_run", tmp_path_factory).result()
