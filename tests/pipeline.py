"""Helpers for end-to-end tests: run Snakemake on a data cut into a temporary results folder."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
FAST_CONFIG = ROOT / "tests" / "data" / "fast_config.yaml"
REFERENCE_RAW = ROOT / "resources" / "reference_study" / "raw"
#: The run ledger is the only output allowed to differ between two runs of the same inputs.
LEDGER = ("provenance/runs.jsonl",)


def snakemake_cmd(
    *args: str,
    results: Path,
    raw: Path | None = None,
    fast: bool = True,
    extra_config: tuple[str, ...] = (),
    lock: bool = False,
) -> list[str]:
    """The ``snakemake`` command line of :func:`snakemake` (results/logs under ``results``'s parent).

    ``--nolock`` unless ``lock``: every test run has its own results folder, but all share the
    working directory's ``.snakemake/locks``, and a locking run that ends deletes that whole
    folder (Snakemake's ``persistence._delete_locks``), so a locking run beside another one can
    fail writing its lock file. Only the killed run's lock check locks (``KilledRun``); with
    ``--nolock`` a run neither writes nor deletes locks.
    """
    cmd = [SNAKEMAKE, *args]
    if not lock and "--unlock" not in args:
        cmd.append("--nolock")
    if fast:
        cmd += ["--configfile", str(ROOT / "config" / "config.yaml"), str(FAST_CONFIG)]
    cmd += ["--config", f"results_dir={results}", f"logs_dir={results.parent / 'logs'}"]
    if raw is not None:
        cmd.append(f"raw_dir={raw}")
    return cmd + list(extra_config)


def snakemake_env(env: dict[str, str] | None = None) -> dict[str, str]:
    return dict(os.environ, PYTHONHASHSEED="0", **(env or {}))


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
    cmd = snakemake_cmd(*args, results=results, raw=raw, fast=fast, extra_config=extra_config)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=snakemake_env(env))
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


class BackgroundRun:
    """Snakemake runs in a background thread, so that a session can start them when collection
    ends (tests/conftest.py): they use the core that the (mostly single-threaded) tests before
    the one that needs them leave idle. A subclass's ``_run`` makes the runs (``_call``) and
    fills ``observed``; ``result()`` waits for it and returns ``observed``; ``stop()`` (session
    end) kills the Snakemake process running and starts no other.
    """

    name = "background run"

    def __init__(self, base: Path):
        self.base = base
        self.observed: dict = {}
        self.error: str | None = None
        self._proc: subprocess.Popen | None = None
        self._stopped = False
        self._lock = threading.Lock()  # no process is started once stop() ran
        self._thread = threading.Thread(target=self._guarded_run, name=self.name, daemon=True)

    def start(self) -> BackgroundRun:
        self._thread.start()
        return self

    def _run(self) -> None:
        raise NotImplementedError

    def _guarded_run(self) -> None:
        try:
            self._run()
        except BaseException:  # reported by result()
            import traceback

            self.error = traceback.format_exc()

    def _popen(self, *args: str, log: str, **kw) -> subprocess.Popen:
        with self._lock:
            if self._stopped:
                raise RuntimeError("stopped at the end of the session")
            out = open(self.base / f"{log}.log", "w", encoding="utf-8")  # noqa: SIM115 (closed by the caller)
            self._proc = subprocess.Popen(snakemake_cmd(*args, **kw), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                          text=True, start_new_session=True, env=snakemake_env())
        self._proc.log = out  # type: ignore[attr-defined]
        return self._proc

    def _call(self, *args: str, log: str, timeout: float = 1500, check: bool = False, **kw) -> subprocess.CompletedProcess:
        """Run snakemake (arguments as :func:`snakemake_cmd`'s) to its end; its output is ``stdout``."""
        proc = self._popen(*args, log=log, **kw)
        try:
            proc.wait(timeout=timeout)
        finally:
            self._kill(proc)
            proc.log.close()  # type: ignore[attr-defined]
        done = subprocess.CompletedProcess(proc.args, proc.returncode, (self.base / f"{log}.log").read_text(), "")
        if check and done.returncode != 0:
            raise AssertionError(f"snakemake failed ({done.returncode}): {' '.join(done.args)}\n--- output (tail) ---\n"
                                 + "\n".join(done.stdout.splitlines()[-60:]))
        return done

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)

    def result(self, timeout: float = 2400) -> dict:
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.stop()
            raise AssertionError(f"the {self.name} did not finish within {timeout} s")
        if self.error:
            raise AssertionError(f"the {self.name} failed:\n{self.error}")
        return self.observed

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        if self._proc is not None:
            self._kill(self._proc)
        self._thread.join(60)


class KilledRun(BackgroundRun):
    """A ``--cores 1`` run of the whole pipeline on a pristine copy of the reference cut,
    SIGKILLed mid-DAG (as soon as the derive stage wrote ADSL), ``--unlock``ed and resumed with
    ``--cores 1``. ``observed``: ``locked`` (a second run started in the same folder while the
    first ran), ``first_alive_after_second``, ``finished_before_kill``, ``unlock`` and ``resume``
    (``returncode``, ``stdout``) and ``results``.
    """

    name = "killed run"

    def __init__(self, base: Path, raw: Path = REFERENCE_RAW):
        import shutil

        super().__init__(base)
        self.raw = base / "raw"
        self.results = base / "killed" / "results"
        shutil.copytree(raw, self.raw)
        self.observed["results"] = self.results

    def _run(self) -> None:
        where = {"results": self.results, "raw": self.raw}
        # the only locking runs of a session: every other test run has --nolock (snakemake_cmd)
        first = self._popen("--cores", "1", log="first", lock=True, **where)
        deadline = time.time() + 600
        try:
            while not (self.results / "adam" / "adsl.parquet").exists():
                if first.poll() is not None or time.time() > deadline:
                    raise RuntimeError("the first run ended or did not reach the derive stage:\n"
                                       + (self.base / "first.log").read_text()[-3000:])
                time.sleep(0.2)
            # a second run in the same directory on the same outputs, while the first runs
            self.observed["locked"] = self._call("--cores", "1", log="second", timeout=600, lock=True, **where)
            self.observed["first_alive_after_second"] = first.poll() is None
        finally:
            self._kill(first)  # the first run, killed in the middle of the DAG
            first.log.close()  # type: ignore[attr-defined]
        self.observed["finished_before_kill"] = (self.results / "stats" / "endpoints.csv").exists()
        self.observed["unlock"] = self._call("--unlock", log="unlock", timeout=600, **where)
        self.observed["resume"] = self._call("--cores", "1", log="resume", **where)


#: Lighter than FAST_CONFIG: the PK/PD model is not what the realistic-cut test is about.
LIGHT_PKPD = ROOT / "tests" / "data" / "light_pkpd_config.yaml"


class RealisticRun(BackgroundRun):
    """The whole pipeline and its report on a small realistic simulated cut (tests/test_realistic_e2e.py):
    ``observed``: ``raw``, ``results``, ``cut`` (fcrnpipe.simulate.realistic's), ``proc`` and ``report``."""

    name = "realistic run"
    subjects = 6

    def _run(self) -> None:
        import yaml

        from fcrnpipe.simulate import write_raw
        from fcrnpipe.simulate.realistic import config_overlay, simulate_realistic

        with open(ROOT / "config" / "config.yaml", encoding="utf-8") as fh:
            config = yaml.safe_load(fh)
        cut = simulate_realistic(config, self.subjects, seed=11)
        raw = self.base / "raw"
        write_raw(cut.tables, raw)
        overlay = self.base / "study_config.yaml"
        overlay.write_text(yaml.safe_dump(config_overlay(config, "realistic test cut"), sort_keys=False),
                           encoding="utf-8")
        results = self.base / "results"
        args = ("--configfile", str(ROOT / "config" / "config.yaml"), str(LIGHT_PKPD), str(overlay))
        where = {"results": results, "raw": raw, "fast": False, "check": True}
        proc = self._call("--cores", "2", *args, log="run", **where)
        report = self._call("--cores", "1", *args, "--report", str(results / "report.html"), log="report", **where)
        self.observed.update(raw=raw, results=results, cut=cut, proc=proc, report=report)
