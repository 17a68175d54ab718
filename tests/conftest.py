"""Shared pytest fixtures and paths."""

from __future__ import annotations

import os
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
def reference_run(request, tmp_path_factory):
    """The whole pipeline, run once per test session (``--cores 2``) on a copy of the reference study.

    ``hashes`` are the SHA-256 of every output right after this clean run (the run ledger
    excepted): tests that later rewrite exports in ``raw`` and rerun into ``results`` still
    have the clean run's fingerprint to compare other runs against.
    """
    from pipeline import LEDGER, snakemake, tree_hashes

    _once_across_workers("reference_run", request, tmp_path_factory)
    base = tmp_path_factory.mktemp("reference")
    raw = copy_cut(base / "raw")
    results = base / "results"
    proc = snakemake("--cores", "2", results=results, raw=raw)
    return {"base": base, "raw": raw, "results": results, "proc": proc, "hashes": tree_hashes(results, LEDGER)}


#: The ADaM datasets of the derive stage.
ADAM = ["adsl", "adex", "adlb", "adpc", "adedss", "adae"]


@pytest.fixture(scope="session")
def valid_cut_run(request, tmp_path_factory) -> Path:
    """The validation and derive stages (``--cores 2``) on the valid 3-subject cut of
    tests/cutfactory.py, run once per session: ``raw``, ``results`` and ``logs`` under the folder
    returned. Tests that rerun or change it work on a copy (:func:`copy_run`)."""
    from cutfactory import DOMAINS, make_valid_cut
    from pipeline import snakemake

    _once_across_workers("valid_cut_run", request, tmp_path_factory)
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
    if _worker(session.config):  # under xdist: when this worker starts the group (pytest_runtest_setup)
        _GROUP_BACKGROUND.clear()
        for item in session.items:
            group = _group_of(item)
            if group:
                _GROUP_BACKGROUND.setdefault(group, set()).update(n for n in BACKGROUND if n in item.fixturenames)
        return
    for name in BACKGROUND:
        if session_uses(session, name):
            _background(name, session.config._tmp_path_factory)


def pytest_sessionfinish(session):
    for run in _started.values():
        run.stop()


@pytest.fixture(scope="session")
def killed_run(request, tmp_path_factory) -> dict:
    """A ``--cores 1`` run killed mid-DAG and resumed, what it observed (tests/pipeline.py: KilledRun)."""
    _once_across_workers("killed_run", request, tmp_path_factory)
    return _background("killed_run", tmp_path_factory).result()


@pytest.fixture(scope="session")
def realistic_run(request, tmp_path_factory) -> dict:
    """The pipeline and report on a small realistic cut (tests/pipeline.py: RealisticRun)."""
    _once_across_workers("realistic_run", request, tmp_path_factory)
    return _background("realistic_run", tmp_path_factory).result()


# ----------------------------------------------------------------------------- pytest-xdist
#: ``make test`` runs the tests on two pytest-xdist workers with ``--dist loadgroup``. A session
#: fixture that runs the pipeline would run once in each worker that runs a test using it, so
#: every test using one is put in that fixture's xdist group (one worker runs a group's tests):
#: ``killed_run``'s in ``reference_run``'s, because its test compares with the clean run.
#: A test that gets one with ``request.getfixturevalue`` (not in its arguments) carries the mark
#: itself (tests/test_pkpd_e2e.py, tests/test_pkpd_covariates.py); if one is missed, the fixture
#: fails in the second worker that starts it (:func:`_once_across_workers`).
SESSION_RUN_GROUPS = {"reference_run": "reference_run", "killed_run": "reference_run",
                      "valid_cut_run": "valid_cut_run", "realistic_run": "realistic_run"}
_GROUP_BACKGROUND: dict[str, set[str]] = {}  # group -> the background runs its tests use
#: pytest-xdist 3.8.0 marks a test's group by appending ``@group`` to its node id, which pytest
#: 9.2's structured node ids ignore (pytest-dev/pytest-xdist#1386: ``loadgroup`` then groups
#: nothing, silently). So the workers write the groups of their tests to this folder (the
#: controller makes it) and the controller's scheduler (:func:`pytest_xdist_make_scheduler`)
#: reads them.
GROUPS_ENV = "FCRNPIPE_XDIST_GROUPS"


def _worker(config) -> str | None:
    """This process's pytest-xdist worker id (``gw0``, ...), None outside a worker."""
    return getattr(config, "workerinput", {}).get("workerid")


def _group_of(item) -> str | None:
    mark = item.get_closest_marker("xdist_group")
    return (mark.args[0] if mark.args else mark.kwargs.get("name")) if mark else None


def pytest_configure(config):
    if not _worker(config) and config.getoption("dist", "no") == "loadgroup":
        import tempfile

        os.environ[GROUPS_ENV] = tempfile.mkdtemp(prefix="fcrnpipe-xdist-groups-")  # the workers inherit it


def pytest_unconfigure(config):
    if not _worker(config) and GROUPS_ENV in os.environ:
        import shutil

        shutil.rmtree(os.environ.pop(GROUPS_ENV), ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        groups = {SESSION_RUN_GROUPS[f] for f in SESSION_RUN_GROUPS if f in getattr(item, "fixturenames", ())}
        marked = _group_of(item)
        if marked:
            groups.add(marked)
        if len(groups) > 1:
            raise pytest.UsageError(f"{item.nodeid} uses the session runs of several xdist groups: {sorted(groups)}")
        if groups and not marked:
            item.add_marker(pytest.mark.xdist_group(groups.pop()))
    worker = _worker(config)
    if worker:
        # the end-to-end tests first, so that a worker does not start a long one near the end
        # (the scheduler sends the largest groups first, then the other tests in this order)
        items.sort(key=lambda item: item.get_closest_marker("e2e") is None)
        if os.environ.get(GROUPS_ENV):  # before the worker sends its collection to the controller
            import json

            path = Path(os.environ[GROUPS_ENV]) / f"{worker}.json"
            path.with_suffix(".tmp").write_text(json.dumps({i.nodeid: _group_of(i) for i in items if _group_of(i)}))
            path.with_suffix(".tmp").replace(path)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: pytest without the plugin must still run
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup`` with the groups the workers wrote (see :data:`GROUPS_ENV`)."""
    if config.getoption("dist") != "loadgroup" or not os.environ.get(GROUPS_ENV):
        return None
    from xdist.scheduler import LoadGroupScheduling

    class SessionRunGroups(LoadGroupScheduling):
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # every worker has collected (schedule()) and written its file
                import json

                files = sorted(Path(os.environ[GROUPS_ENV]).glob("*.json"))
                tables = [json.loads(f.read_text()) for f in files]
                if not tables or any(t != tables[0] for t in tables):
                    raise RuntimeError(f"the workers' xdist groups differ or are missing: {files}")
                self.groups = tables[0]
            return self.groups.get(nodeid) or super()._split_scope(nodeid)

    return SessionRunGroups(config, log)


def pytest_runtest_setup(item):
    """Under xdist, a group's background runs start with the group's first test in its worker."""
    for name in sorted(_GROUP_BACKGROUND.get(_group_of(item), ())):
        _background(name, item.config._tmp_path_factory)


def _once_across_workers(name: str, request, tmp_path_factory) -> None:
    """Under xdist, fail if another worker of this session has already started session run ``name``
    (a test using it without its xdist group: it would run the pipeline twice)."""
    worker = _worker(request.config)
    if worker is None:
        return
    flag = tmp_path_factory.getbasetemp().parent / f"session-run-{name}"  # the workers' common folder
    try:
        fd = os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        pytest.fail(f"session fixture {name} already ran in worker {flag.read_text()}: a test using it is "
                    f"not in its xdist group (tests/conftest.py: SESSION_RUN_GROUPS)")
    os.write(fd, worker.encode())
    os.close(fd)
