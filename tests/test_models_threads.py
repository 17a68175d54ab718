"""Rows of the compiled kernels in threads (fcrnpipe.models.threads, issue 11).

* :func:`row_blocks`: contiguous, disjoint, in order, hand-checked sizes; no split below the
  threshold (a 9-subject fit stays on one thread).
* Bit-identical results for any number of threads: the kernels (PK with second derivatives,
  PK + PD, PD on fixed PK, the local-error buffer of the grid refinement) and a whole fit
  (estimates, OFV, modes, covariance) with 1 and with 2 threads.
* The thread setting is scoped: 1 by default, 1 inside a pool thread (no nested splits), and
  restored after :func:`kernel_threads`.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from fcrnpipe.models import make_model
from fcrnpipe.models import threads as T
from fcrnpipe.models.mab import _local_errors

from test_models_kernels import CASES, diff_spec


def test_row_blocks_by_hand():
    assert T.row_blocks(100, 2, 32) == [(0, 50), (50, 100)]
    assert T.row_blocks(101, 2, 32) == [(0, 51), (51, 101)]
    assert T.row_blocks(63, 2, 32) == [(0, 63)]  # < 2 x 32 rows: one block
    assert T.row_blocks(64, 2, 32) == [(0, 32), (32, 64)]
    assert T.row_blocks(9, 2) == [(0, 9)]  # a 9-subject fit: never split
    assert T.row_blocks(10, 3, 1) == [(0, 4), (4, 7), (7, 10)]
    assert T.row_blocks(1000, 1, 1) == [(0, 1000)]
    assert T.row_blocks(0, 2, 1) == [(0, 0)]


def test_map_threads_keeps_order_and_runs_in_threads():
    seen = set()

    def f(i: int) -> int:
        seen.add(threading.current_thread().name)
        return i * i

    assert T.map_threads(f, range(7), 2) == [i * i for i in range(7)]
    assert len(seen) == 2  # the caller and one pool thread
    assert T.map_threads(f, [], 2) == []
    assert T.map_threads(f, [3], 2) == [9]


def test_thread_setting_is_scoped():
    assert T.current_threads() == 1
    with T.kernel_threads(2):
        assert T.current_threads() == 2
        inner = T.map_threads(lambda _: T.current_threads(), [0, 1], 2)
        assert inner == [2, 1]  # the pool thread does not split again
    assert T.current_threads() == 1


def many_rows(case: str, n: int = 80):
    """``n`` rows of the two subjects of ``test_models_kernels`` (alternating, parameters spread)."""
    make, design, params = CASES[case]
    model = make()
    prep = model.prepare(design())
    sid = np.arange(n) % 2
    scale = np.exp(np.linspace(-0.3, 0.3, n))[:, None]
    rows = params[sid] * scale
    prep = model.refine(prep, rows, sid)
    return model, prep, rows, sid


@pytest.mark.parametrize("case", list(CASES))
def test_kernels_bit_identical_with_one_and_two_threads(case, monkeypatch):
    model, prep, rows, sid = many_rows(case)
    diff, logs = diff_spec(model, case)
    one = model.derivatives(prep, rows, sid, diff, logs, True)
    blocks = []
    real = T.row_blocks
    monkeypatch.setattr(T, "row_blocks", lambda *a: blocks.append(real(*a)) or blocks[-1])
    with T.kernel_threads(2):
        two = model.derivatives(prep, rows, sid, diff, logs, True)
        val = model.predict(prep, rows, sid)
    assert blocks[0] == [(0, 40), (40, 80)]  # the rows were split
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(val, model.predict(prep, rows, sid))


@pytest.mark.parametrize("case", list(CASES))
def test_local_errors_bit_identical_with_one_and_two_threads(case):
    model, prep, rows, sid = many_rows(case)
    mp = prep[0] if isinstance(prep, tuple) else prep
    if case == "sc1cmt_mm":
        args = (rows, None, None, False)
    elif case == "igg_turnover":
        args = (prep[1][sid], rows, model.steroid, True)
    else:
        args = (rows[:, :5], rows[:, 5:], model.steroid, False)
    one = _local_errors(mp, sid, *args)
    with T.kernel_threads(2):
        two = _local_errors(mp, sid, *args)
    assert one.shape == (sid.size, mp.grid.t.shape[1] - 1) and np.all(np.isfinite(one))
    np.testing.assert_array_equal(one, two)


def test_fit_bit_identical_with_one_and_two_threads(monkeypatch):
    from fcrnpipe.nlme import ErrorModel, FitOptions, PopulationModel, fit, validate_nm_frame
    from fcrnpipe.nlme.synthetic import simulate_nm_dataset

    study = simulate_nm_dataset(n_subjects=6, doses_mg=(340.0, 680.0), seed=3)
    data = validate_nm_frame(study.records.astype(str), "synthetic")
    pm = PopulationModel(make_model("sc1cmt_mm"), iiv=("CL", "V"), errors={2: ErrorModel("proportional")},
                         fixed={"Km": 1.0}, blq="M3")
    monkeypatch.setattr(T, "MIN_ROWS_PER_THREAD", 2)  # split the 6 subjects' rows
    splits = []
    real = T.map_threads
    monkeypatch.setattr(T, "map_threads", lambda fn, items, w: splits.append(len(items)) or real(fn, items, w))
    options = dict(gtol=0.05, max_iter=40)
    one = fit(data, pm, FitOptions(**options, threads=1))
    assert max(splits) == 1
    two = fit(data, pm, FitOptions(**options, threads=2))
    assert max(splits) == 2  # some model calls were split
    np.testing.assert_array_equal(one.x, two.x)
    assert one.ofv == two.ofv
    np.testing.assert_array_equal(one.inner.eta, two.inner.eta)
    np.testing.assert_array_equal(one.covariance.cov_x, two.covariance.cov_x)
    assert one.optimizer["function_evaluations"] == two.optimizer["function_evaluations"]
