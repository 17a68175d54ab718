"""The issue-11 targets of ``scripts/benchmark.py`` compare CPU time, read from the task notes
as the benchmark writes them (hand-made rows; the ratios below are worked out by hand)."""

import importlib.util
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("benchmark_script", ROOT / "scripts" / "benchmark.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _row(task, wall, notes):
    return {"task": task, "n_subjects": 12, "wall_s": wall, "peak_mb": 100.0, "converged": True, "notes": notes}


THEOPH_NOTES = "whole process, cpu 0.90 s; lKe -2.4655, lKa 0.4821, lCl -3.2304, logLik -176.992"
R_NOTES = "whole Rscript process, cpu 0.40 s; lKe -2.4546, lKa 0.4655, lCl -3.2272, logLik -177.024"
PK_NOTES = ("cpu 2.3 s; fit 2.02 s (cpu 1.34 s; again in the same process: cpu 0.95 s, start-up 0.39 s); "
            "OFV 448.873; 16 iterations")


def test_cpu_seconds_reads_the_process_and_the_first_fit(bench):
    assert bench._cpu_seconds(THEOPH_NOTES) == 0.90
    # the whole process (run_task's prefix) unless the first fit is asked for
    assert bench._cpu_seconds(PK_NOTES) == 2.3
    assert bench._cpu_seconds(PK_NOTES, prefix=r"fit [0-9.]+ s \(") == 1.34
    assert math.isnan(bench._cpu_seconds("FAILED (exit 1): boom"))


def test_theoph_ratio_is_cpu_time_not_wall_time(bench):
    # wall 1.60 / 0.64 = 2.50 x (a busy machine), CPU 0.90 / 0.40 = 2.25 x: both miss 2 x
    rows = [_row("theoph_cli", 1.60, THEOPH_NOTES), _row("theoph_r", 0.64, R_NOTES)]
    (what, value, ok), *_ = bench.check_targets(rows)
    assert "CPU time" in what and value == "2.25 x (wall: 2.50 x)" and ok is False
    # CPU 0.78 / 0.40 = 1.95 x passes although the wall ratio (1.60 / 0.64) does not
    rows[0]["notes"] = THEOPH_NOTES.replace("cpu 0.90", "cpu 0.78")
    (what, value, ok), *_ = bench.check_targets(rows)
    assert value == "1.95 x (wall: 2.50 x)" and ok is True


def test_reference_fit_target_is_the_first_fits_cpu_time(bench):
    rows = [_row("ref_pk_fit", 3.38, PK_NOTES)]
    (what, value, ok), = bench.check_targets(rows)
    assert what.startswith("ref_pk_fit") and value == "1.34 s" and ok is False
    rows[0]["notes"] = PK_NOTES.replace("(cpu 1.34 s", "(cpu 0.98 s")
    (what, value, ok), = bench.check_targets(rows)
    assert value == "0.98 s" and ok is True


def test_bootstrap_replicate_target_is_cpu_time(bench):
    notes = "cpu 12.8 s; 10 replicates, 10 ok; 2.43 s per replicate (cpu 1.16 s)"
    (what, value, ok), = bench.check_targets([_row("ref_bootstrap", 26.85, notes)])
    assert "CPU time" in what and value == "1.16 s" and ok is True
    (what, value, ok), = bench.check_targets([_row("ref_bootstrap", 26.85, notes.replace("(cpu 1.16", "(cpu 2.05"))])
    assert value == "2.05 s" and ok is False
