"""Subject bootstrap of the PK/PD model (fcrnpipe.pkpd.bootstrap and the stage's chunk/gather
functions): replicate partition, seeding, percentile intervals, gathering, and failed
replicates (reproducibility issue #5: a failing replicate is reported, never silently dropped,
and does not corrupt the gathered result).

The refits run on a small synthetic study (6 subjects, one-compartment oral model, closed
form: a few hundredths of a second per replicate). Failures are injected through the
``fit_fn`` argument of the library (or ``run_fit`` of the module for the stage functions),
keyed by the replicate's resampled dataset, so a failure belongs to a replicate whatever the
chunk that runs it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

from fcrnpipe.errors import UserError
from fcrnpipe.nlme import individual_table, population_table, read_nm_dataset, resample_subjects
from fcrnpipe.nlme.estimate import FitError
from fcrnpipe.nlme.synthetic import simulate_nm_dataset
from fcrnpipe.pkpd import bootstrap as B
from fcrnpipe.pkpd import fitting as F
from fcrnpipe.pkpd import stage
from fcrnpipe.pkpd.outputs import BOOT_COLUMNS, POP_COLUMNS
from fcrnpipe.pkpd.selection import selection_table
from fcrnpipe.pkpd.state import load_state, write_state
from fcrnpipe.tableio import write_csv

SEED = 4711
BOOT_OPTIONS = F.fit_options(None, F.BOOTSTRAP_FIT_OPTIONS)


# --------------------------------------------------------------------------- partition
def test_chunk_replicates_hand_values():
    assert [B.chunk_replicates(10, 3, k) for k in (1, 2, 3)] == [[1, 2, 3], [4, 5, 6], [7, 8, 9, 10]]
    assert [B.chunk_replicates(8, 2, k) for k in (1, 2)] == [[1, 2, 3, 4], [5, 6, 7, 8]]
    # more chunks than replicates: some chunks are empty, every replicate still runs once
    assert [B.chunk_replicates(2, 5, k) for k in range(1, 6)] == [[], [], [1], [], [2]]
    assert B.chunk_replicates(0, 3, 2) == []
    assert B.chunk_replicates(200, 1, 1) == list(range(1, 201))


@pytest.mark.parametrize("replicates", [0, 1, 2, 7, 8, 20, 200, 201])
@pytest.mark.parametrize("chunks", [1, 2, 3, 7, 20, 40, 250])
def test_chunk_partition_is_exact_and_complete(replicates, chunks):
    parts = [B.chunk_replicates(replicates, chunks, k) for k in range(1, chunks + 1)]
    flat = [r for p in parts for r in p]
    assert flat == list(range(1, replicates + 1))  # complete, no overlap, in order
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1
    for p in parts:  # contiguous blocks
        assert p == list(range(p[0], p[0] + len(p))) if p else True


def test_chunk_arguments_are_checked():
    for chunks, chunk in ((0, 1), (3, 0), (3, 4)):
        with pytest.raises(ValueError):
            B.chunk_replicates(10, chunks, chunk)
    assert B.parse_scatteritem("3-of-20") == (3, 20)
    for bad in ("0-of-2", "3-of-2", "3of20", "a-of-b", ""):
        with pytest.raises(UserError):
            B.parse_scatteritem(bad)


# ----------------------------------------------------------------------------- seeding
def test_replicate_rng_is_the_seed_sequence_of_seed_and_replicate():
    a = B.replicate_rng(SEED, 3).integers(0, 1_000_000, size=5)
    b = B.replicate_rng(SEED, 3).integers(0, 1_000_000, size=5)
    ref = np.random.default_rng(np.random.SeedSequence([SEED, 3])).integers(0, 1_000_000, size=5)
    assert a.tolist() == b.tolist() == ref.tolist()
    others = [B.replicate_rng(SEED, 4), B.replicate_rng(SEED + 1, 3), np.random.default_rng(SEED)]
    for g in others:
        assert g.integers(0, 1_000_000, size=5).tolist() != a.tolist()
    # types of the arguments do not matter (config values may arrive as numpy ints or strings)
    assert B.replicate_rng(np.int64(SEED), "3").integers(0, 1_000_000, size=5).tolist() == a.tolist()


# ----------------------------------------------------------------------- percentile CI
def test_percentile_ci_hand_values():
    v = np.arange(1.0, 11.0)  # 1..10: rank position p/100 * 9, linear interpolation
    assert B.percentile_ci(v) == pytest.approx((1.225, 9.775), abs=1e-12)
    assert B.percentile_ci(v, level=0.90) == pytest.approx((1.45, 9.55), abs=1e-12)
    assert B.percentile_ci(np.array([0.0, 100.0])) == pytest.approx((2.5, 97.5), abs=1e-12)
    assert B.percentile_ci(np.array([4.0, 1.0, 3.0, 2.0])) == pytest.approx((1.075, 3.925), abs=1e-12)
    # the same as numpy.percentile
    rng = np.random.default_rng(1)
    x = rng.lognormal(size=37)
    assert B.percentile_ci(x) == pytest.approx(tuple(np.percentile(x, [2.5, 97.5])), rel=1e-15)


def test_percentile_ci_ignores_non_finite_and_needs_two_values():
    v = np.array([np.nan, 1.0, np.inf, 2.0, 3.0, 4.0, -np.inf])
    assert B.percentile_ci(v) == B.percentile_ci(np.array([1.0, 2.0, 3.0, 4.0]))
    for few in ([], [5.0], [5.0, np.nan]):
        lo, hi = B.percentile_ci(np.array(few))
        assert math.isnan(lo) and math.isnan(hi)


def test_round_sig():
    assert B.round_sig(2.0 / 3.0) == 0.6666666667
    assert B.round_sig(123456.789012345678) == 123456.789
    assert B.round_sig(-1.23456789012345e-7) == -1.234567890e-7
    out = B.round_sig(np.array([0.0, np.nan, np.inf, 1.0]))
    assert out[0] == 0.0 and np.isnan(out[1]) and np.isinf(out[2]) and out[3] == 1.0


# ------------------------------------------------------------------------------ gather
PARAMS = ["CL", "V", "Km"]


def hand_population() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "parameter": PARAMS,
            "estimate": [2.0, 20.0, 1.0],
            "se": [0.2, 2.0, np.nan],
            "rse_pct": [10.0, 10.0, np.nan],
            "ci_low": [1.6, 16.0, np.nan],
            "ci_high": [2.4, 24.0, np.nan],
            "unit": ["L/day", "L", "mg/L"],
            "kind": ["fixed", "fixed", "fixed"],
            "part": "PK",
            "model": "sc1cmt_mm",
        }
    )


def hand_row(rep, status="ok", cl=np.nan, v=np.nan, message="", pk_conv=True):
    return {
        "replicate": rep, "seed": SEED, "status": status, "message": message, "pk_ofv": 100.0 + rep,
        "pk_converged": pk_conv, "pd_ofv": np.nan, "pd_converged": None, "restarts": 0, "CL": cl, "V": v, "Km": 1.0,
    }


def hand_chunks() -> list[pd.DataFrame]:
    """Replicates 1-5 in two chunks; replicate 4 failed but carries wild numbers (which must not
    enter the intervals); replicate 2 has no V estimate."""
    c1 = B.replicate_frame([hand_row(1, cl=1.0, v=10.0), hand_row(2, cl=2.0)], PARAMS)
    c2 = B.replicate_frame(
        [hand_row(3, cl=3.0, v=30.0),
         hand_row(4, "failed", cl=1000.0, v=-5.0, message="FitError: boom, really", pk_conv=False),
         hand_row(5, cl=4.0, v=40.0)],
        PARAMS,
    )
    return [c1, c2]


def csv_round_trip(frames, tmp_path):
    """As the stage does it: every chunk through its CSV file."""
    out = []
    for k, f in enumerate(frames):
        p = tmp_path / f"chunk_{k}.csv"
        write_csv(f, p)
        out.append(pd.read_csv(p))
    return out


def test_gather_hand_values(tmp_path):
    allr, pop, info = B.gather(csv_round_trip(hand_chunks(), tmp_path), hand_population(), 5, fixed=["Km"])
    assert allr["replicate"].tolist() == [1, 2, 3, 4, 5]
    assert allr.columns.tolist()[: len(B.META_COLUMNS) + 3] == B.META_COLUMNS + PARAMS
    assert allr["status"].tolist() == ["ok", "ok", "ok", "failed", "ok"]
    assert allr.loc[3, "message"] == "FitError: boom, really"
    cl = pop.set_index("parameter").loc["CL"]
    # ok CL values 1, 2, 3, 4 (replicate 4's 1000 excluded): 2.5th/97.5th percentiles
    assert (cl["boot_ci_low"], cl["boot_ci_high"], cl["boot_n_ok"]) == (pytest.approx(1.075), pytest.approx(3.925), 4)
    v = pop.set_index("parameter").loc["V"]
    # ok V values 10, 30, 40 (replicate 2 has none)
    assert (v["boot_ci_low"], v["boot_ci_high"], v["boot_n_ok"]) == (pytest.approx(11.0), pytest.approx(39.5), 3)
    km = pop.set_index("parameter").loc["Km"]
    assert math.isnan(km["boot_ci_low"]) and math.isnan(km["boot_ci_high"])  # held fixed: no interval
    assert pop.columns.tolist() == hand_population().columns.tolist() + BOOT_COLUMNS
    assert pop[hand_population().columns].equals(hand_population())  # the estimates are untouched
    assert info["replicates"] == 5 and info["n_ok"] == 4 and info["n_failed"] == 1
    assert info["failed_replicates"] == [4]
    assert info["n_not_converged"] == {"pk": 1, "pd": 0}
    json.dumps(info)  # JSON-ready


def test_gather_does_not_depend_on_the_order_of_the_chunks(tmp_path):
    chunks = csv_round_trip(hand_chunks(), tmp_path)
    a = B.gather(chunks, hand_population(), 5, ["Km"])
    b = B.gather(chunks[::-1] + [chunks[0].iloc[0:0]], hand_population(), 5, ["Km"])  # + an empty chunk
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    assert a[2] == b[2]


def test_gather_refuses_missing_duplicate_or_unexpected_replicates(tmp_path):
    c1, c2 = csv_round_trip(hand_chunks(), tmp_path)
    with pytest.raises(UserError, match=r"missing \[3, 4, 5\]"):
        B.gather([c1], hand_population(), 5)
    with pytest.raises(UserError, match="more than once"):
        B.gather([c1, c2, c1.iloc[[0]]], hand_population(), 5)
    with pytest.raises(UserError, match=r"unexpected \[5\]"):
        B.gather([c1, c2], hand_population(), 4)
    with pytest.raises(UserError, match="status"):
        B.gather([c1.drop(columns="status"), c2.drop(columns="status")], hand_population(), 5)


def test_gather_all_failed_gives_nan_intervals_and_a_clear_summary(tmp_path):
    rows = [hand_row(r, "failed", message=f"FitError: replicate {r}") for r in (1, 2, 3)]
    chunks = csv_round_trip([B.replicate_frame(rows[:2], PARAMS), B.replicate_frame(rows[2:], PARAMS)], tmp_path)
    allr, pop, info = B.gather(chunks, hand_population(), 3, ["Km"])
    assert len(allr) == 3 and (allr["status"] == "failed").all()
    assert pop["boot_ci_low"].isna().all() and pop["boot_ci_high"].isna().all()
    assert pop["boot_n_ok"].tolist() == [0, 0, 0]
    assert (info["n_ok"], info["n_failed"], info["failed_replicates"]) == (0, 3, [1, 2, 3])


def test_gather_with_a_single_ok_replicate_has_no_interval(tmp_path):
    rows = [hand_row(1, cl=1.0, v=10.0), hand_row(2, "failed", message="x")]
    _, pop, info = B.gather(csv_round_trip([B.replicate_frame(rows, PARAMS)], tmp_path), hand_population(), 2)
    assert pop["boot_ci_low"].isna().all() and pop["boot_n_ok"].tolist() == [1, 1, 1]
    assert info["n_ok"] == 1


def test_gather_with_no_replicates(tmp_path):
    empty = csv_round_trip([B.replicate_frame([], PARAMS)], tmp_path)
    allr, pop, info = B.gather(empty, hand_population(), 0)
    assert allr.empty and pop["boot_ci_low"].isna().all() and info["n_ok"] == 0 and info["failed_replicates"] == []


# ------------------------------------------------------------- refits on a small problem
@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """6 synthetic subjects, concentrations only, the closed-form oral1cmt model fitted."""
    base = tmp_path_factory.mktemp("boot_small")
    study = simulate_nm_dataset(n_subjects=6, seed=3)
    nm = base / "nm.csv"
    study.records[study.records["CMT"] != 3].to_csv(nm, index=False)
    data = read_nm_dataset(nm)
    spec = F.pk_spec("oral1cmt", "proportional", "M3")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = F.run_fit(data, spec, F.fit_options({"covariance": "none"}, F.FINAL_FIT_OPTIONS))
    write_state(res, spec, base / "fit.json")
    fm = load_state(base / "fit.json")
    params = list(population_table(res)["parameter"])
    # which replicate a resampled dataset belongs to (the order of the original subjects drawn)
    sig = {signature(resample_subjects(data, B.replicate_rng(SEED, r))): r for r in range(1, 13)}
    assert len(sig) == 12
    return {"data": data, "fit": fm, "params": params, "replicate_of": sig, "base": base}


def signature(data) -> tuple[str, ...]:
    rec = data.records
    return tuple(rec.groupby("ID", sort=False)["ORIG_ID"].first().astype(str))


def failing_fit(small, raise_on=(), not_converged=(), nan_estimate=(), nan_ofv=()):
    """run_fit, except for the given replicates (found from the resampled dataset)."""

    def fit_fn(data, spec, options, warm_start=None, search_center=None):
        r = small["replicate_of"][signature(data)]
        if r in raise_on:
            raise FitError(f"synthetic failure of replicate {r}")
        res = F.run_fit(data, spec, options, warm_start=warm_start)
        if r in not_converged:
            res = dataclasses.replace(res, optimizer={**res.optimizer, "converged": False,
                                                      "message": "Maximum number of iterations has been exceeded."})
        if r in nan_estimate:
            x = res.x.copy()
            x[0] = np.nan
            res = dataclasses.replace(res, x=x)
        if r in nan_ofv:
            res = dataclasses.replace(res, ofv=float("nan"))
        return res

    return fit_fn


def run_chunked(small, replicates, chunks, tmp_path, fit_fn=None):
    """All chunks of a bootstrap as the rules run them (CSV in between), gathered."""
    frames = []
    for k in range(1, chunks + 1):
        reps = B.chunk_replicates(replicates, chunks, k)
        t = B.run_chunk(small["data"], None, small["fit"], small["params"], reps, SEED, BOOT_OPTIONS, fit_fn)
        p = tmp_path / f"chunk_{k}-of-{chunks}.csv"
        write_csv(t, p)
        frames.append(pd.read_csv(p))
    pop = population_table_of(small)
    return B.gather(frames, pop, replicates)


def population_table_of(small) -> pd.DataFrame:
    t = pd.DataFrame({"parameter": small["params"], "estimate": 1.0, "se": np.nan, "rse_pct": np.nan,
                      "ci_low": np.nan, "ci_high": np.nan, "unit": "-", "kind": "fixed"})
    return t


def test_replicate_rows_do_not_depend_on_chunk_or_order(small):
    fwd = B.run_chunk(small["data"], None, small["fit"], small["params"], [1, 2, 3], SEED, BOOT_OPTIONS)
    rev = B.run_chunk(small["data"], None, small["fit"], small["params"], [3, 2, 1], SEED, BOOT_OPTIONS)
    pd.testing.assert_frame_equal(fwd, rev.iloc[::-1].reset_index(drop=True))
    assert (fwd["status"] == "ok").all() and fwd["pd_converged"].tolist() == [True] * 3
    # replicates differ from each other and from the original fit
    assert fwd["CL"].nunique() == 3


@pytest.mark.parametrize("chunks", [2, 3, 8])
def test_gathered_result_is_identical_whatever_the_number_of_chunks(small, tmp_path, chunks):
    ref = run_chunked(small, 6, 1, tmp_path / "one")
    (tmp_path / "many").mkdir()
    got = run_chunked(small, 6, chunks, tmp_path / "many")
    pd.testing.assert_frame_equal(ref[0], got[0])
    pd.testing.assert_frame_equal(ref[1], got[1])
    assert ref[2] == got[2]
    assert ref[2]["n_ok"] == 6


def test_failed_replicates_are_reported_and_excluded(small, tmp_path):
    clean = run_chunked(small, 8, 1, tmp_path)
    fit_fn = failing_fit(small, raise_on=(2,), not_converged=(4,), nan_estimate=(6,), nan_ofv=(7,))
    for chunks in (1, 3):
        (tmp_path / f"f{chunks}").mkdir()
        allr, pop, info = run_chunked(small, 8, chunks, tmp_path / f"f{chunks}", fit_fn)
        assert info["failed_replicates"] == [2, 4, 6, 7]
        assert (info["n_ok"], info["n_failed"], info["replicates"]) == (4, 4, 8)
        assert info["n_not_converged"] == {"pk": 0, "pd": 1}
        failed = allr[allr["status"] == "failed"].set_index("replicate")
        assert "FitError: synthetic failure of replicate 2" in failed.loc[2, "message"]
        assert "NotConverged" in failed.loc[4, "message"] and "did not converge" in failed.loc[4, "message"]
        assert "non-finite estimate(s): ka" in failed.loc[6, "message"]
        assert "non-finite objective function value" in failed.loc[7, "message"]
        assert failed[small["params"]].isna().all().all()  # a failed replicate has no estimates
        assert failed.loc[4, "pd_converged"] in (False, "False")  # ... but its diagnostics are kept
        # the ok replicates are exactly those of the run without failures
        ok = allr[allr["status"] == "ok"].reset_index(drop=True)
        ref_ok = clean[0][clean[0]["replicate"].isin([1, 3, 5, 8])].reset_index(drop=True)
        assert ok["message"].fillna("").eq("").all()
        pd.testing.assert_frame_equal(ok.drop(columns="message"), ref_ok.drop(columns="message"), check_dtype=False)
        # and the intervals are the percentile intervals of the ok replicates only
        for p in small["params"]:
            row = pop.set_index("parameter").loc[p]
            lo, hi = B.percentile_ci(ok[p].to_numpy(dtype=float))
            assert row["boot_ci_low"] == pytest.approx(lo, rel=1e-9)
            assert row["boot_ci_high"] == pytest.approx(hi, rel=1e-9)
            assert row["boot_n_ok"] == 4


def converging_on_restart(small, replicates, calls):
    """run_fit, but the first fit of each of ``replicates`` stops unconverged (at the real
    fit's end point, as BFGS does at its iteration limit); ``calls`` records
    (replicate, warm-start type) of every call."""

    def fit_fn(data, spec, options, warm_start=None, search_center=None):
        r = small["replicate_of"][signature(data)]
        calls.append((r, type(warm_start).__name__))
        res = F.run_fit(data, spec, options, warm_start=warm_start)
        if r in replicates and sum(c[0] == r for c in calls) == 1:
            res = dataclasses.replace(res, optimizer={**res.optimizer, "converged": False,
                                                      "message": "Maximum number of iterations has been exceeded."})
        return res

    return fit_fn


def test_an_unconverged_refit_is_restarted_from_its_end_point(small, tmp_path):
    clean = B.run_chunk(small["data"], None, small["fit"], small["params"], [1, 2, 3], SEED, BOOT_OPTIONS)
    calls: list = []
    t = B.run_chunk(small["data"], None, small["fit"], small["params"], [1, 2, 3], SEED, BOOT_OPTIONS,
                    converging_on_restart(small, {2}, calls), restarts=1)
    # replicate 2 is fitted twice: from the final estimates, then from its own end point
    assert [c for c in calls if c[0] == 2] == [(2, "FittedModel"), (2, "FitResult")]
    assert [c[0] for c in calls].count(1) == 1 and [c[0] for c in calls].count(3) == 1
    assert t["status"].tolist() == ["ok"] * 3
    assert t.loc[1, "message"] == "PK/PD converged after 1 restart(s)"
    assert t.loc[[0, 2], "message"].tolist() == ["", ""]
    assert t["restarts"].tolist() == [0, 1, 0]
    pd.testing.assert_frame_equal(t.loc[[0, 2]], clean.loc[[0, 2]])
    # the summary counts it
    p = tmp_path / "c.csv"
    write_csv(t, p)
    _, _, info = B.gather([pd.read_csv(p)], population_table_of(small), 3)
    assert (info["n_ok"], info["n_failed"], info["n_restarted"]) == (3, 0, 1)
    # without restarts the same replicate fails
    t0 = B.run_chunk(small["data"], None, small["fit"], small["params"], [2], SEED, BOOT_OPTIONS,
                     converging_on_restart(small, {2}, []), restarts=0)
    assert t0["status"].tolist() == ["failed"] and "did not converge" in t0.loc[0, "message"]


def test_restarts_are_bounded(small):
    calls: list = []
    base = failing_fit(small, not_converged=(1,))

    def fit_fn(data, spec, options, warm_start=None, search_center=None):
        calls.append(1)
        return base(data, spec, options, warm_start=warm_start)

    t = B.run_chunk(small["data"], None, small["fit"], small["params"], [1], SEED, BOOT_OPTIONS, fit_fn, restarts=2)
    assert len(calls) == 3 and t["status"].tolist() == ["failed"] and t["restarts"].tolist() == [2]


def test_all_replicates_failing_still_gives_a_chunk_and_a_result(small, tmp_path):
    fit_fn = failing_fit(small, raise_on=range(1, 13))
    allr, pop, info = run_chunked(small, 3, 2, tmp_path, fit_fn)
    assert (allr["status"] == "failed").all() and info["n_ok"] == 0 and info["failed_replicates"] == [1, 2, 3]
    assert pop["boot_ci_low"].isna().all() and (pop["boot_n_ok"] == 0).all()


# ------------------------------------------------- the stage functions (files in, files out)
@pytest.fixture(scope="module")
def fitted_dirs(small):
    """pkpd/pk and pkpd/pd folders of a sequential fit (oral1cmt, then a short IgG fit on a
    4-subject study: its quality does not matter, the bootstrap refits are injected)."""
    base = small["base"] / "stage"
    study = simulate_nm_dataset(n_subjects=4, seed=3, pd_days=(0.0, 7.0, 14.0, 21.0, 28.0, 56.0, 84.0))
    nm = base / "nm_dataset.csv"
    base.mkdir()
    study.records.to_csv(nm, index=False)
    data = read_nm_dataset(nm)
    names = {"fit": "fit.json", "population": "population_parameters.csv",
             "individual": "individual_parameters.csv", "predictions": "predictions.csv",
             "summary": "fit_summary.json"}
    pk_dir = {k: str(base / "pk" / v) for k, v in names.items()}
    pd_dir = {k: str(base / "pd" / v) for k, v in names.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pk_spec = F.pk_spec("oral1cmt", "proportional", "M3")
        pk_res = F.run_fit(data, pk_spec, F.fit_options({"covariance": "none"}, F.FINAL_FIT_OPTIONS))
        F.write_fit(pk_res, pk_spec, pk_dir, extra={"candidate": "oral1cmt"})
        pk = load_state(pk_dir["fit"])
        ind = individual_table(pk_res)
        ind["ID"] = ind["ID"].astype(str)
        pki, pkt = F.pd_inputs_from_pk(pk, ind)
        steroid = {"fraction": 0.3, "decay_per_day": 0.03, "start_day": 1}
        pd_spec = F.pd_spec(pki, pkt, steroid, "proportional", "M3")
        short = {"covariance": "none", "max_iter": 2, "warmup_iter": 0, "max_refits": 0}
        pd_res = F.run_fit(data, pd_spec, F.fit_options(short, F.FINAL_FIT_OPTIONS))
        F.write_fit(pd_res, pd_spec, pd_dir, extra={"fit_mode": "sequential"})
    selection = base / "model_selection.csv"
    summ = json.loads((base / "pk" / "fit_summary.json").read_text())
    write_csv(selection_table({"oral1cmt": summ}, ["oral1cmt"]), selection)
    replicate_of = {signature(resample_subjects(data, B.replicate_rng(SEED, r))): r for r in range(1, 7)}
    assert len(replicate_of) == 6
    return {"nm": str(nm), "pk": pk_dir, "pd": pd_dir, "selection": str(selection), "pd_res": pd_res,
            "replicate_of": replicate_of, "base": base}


def test_fit_pd_combines_the_frames_it_wrote_as_if_read_back(fitted_dirs, tmp_path, monkeypatch):
    """``stage.fit_pd`` combines the PD fit's tables in memory (no re-read of its own files);
    the combined files are byte-identical to those built from the files read back."""
    dirs = fitted_dirs
    ids = sorted(read_nm_dataset(dirs["nm"]).ids, key=int)
    id_map = tmp_path / "id_map.csv"
    pd.DataFrame({"ID": ids, "USUBJID": [f"S-{i}" for i in ids], "ARMCD": ["A", "B"] * (len(ids) // 2)}).to_csv(
        id_map, index=False)
    names = ("fit", "population", "individual", "predictions", "summary", "individual_all", "predictions_all")
    out = {k: str(tmp_path / "pd" / f"{k}.out") for k in names}
    monkeypatch.setattr(stage.F, "run_fit", lambda data, spec, options: dirs["pd_res"])
    reads: list[str] = []
    read_csv = pd.read_csv
    monkeypatch.setattr(stage.pd, "read_csv", lambda path, *a, **k: reads.append(str(path)) or read_csv(path, *a, **k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stage.fit_pd(dirs["nm"], dirs["pk"], str(id_map), out, fit_mode="sequential",
                     steroid={"fraction": 0.3, "decay_per_day": 0.03, "start_day": 1},
                     residual_error={"pk": "proportional", "pd": "proportional"}, blq_method="M3",
                     options={"covariance": "none"})
    assert not {out["individual"], out["predictions"]} & set(reads)
    monkeypatch.undo()
    idm = pd.read_csv(id_map)
    ind = stage.O.combine_individual(idm, [pd.read_csv(dirs["pk"]["individual"], dtype={"ID": str}),
                                           pd.read_csv(out["individual"], dtype={"ID": str})])
    pred = stage.O.combine_predictions(idm, [("PK", pd.read_csv(dirs["pk"]["predictions"], dtype={"ID": str})),
                                             ("PD", pd.read_csv(out["predictions"], dtype={"ID": str}))])
    write_csv(ind, tmp_path / "ind.csv")
    write_csv(pred, tmp_path / "pred.csv")
    assert (tmp_path / "ind.csv").read_bytes() == open(out["individual_all"], "rb").read()
    assert (tmp_path / "pred.csv").read_bytes() == open(out["predictions_all"], "rb").read()
    assert len(pred) > 0 and set(pred["part"]) == {"PK", "PD"}


def stage_fit(dirs, raise_pk=(), not_converged_pd=(), calls=None):
    """PK refits for real (fast); the IgG refit is the fit itself (marked converged): the
    bootstrap's bookkeeping is under test here, not the estimator."""

    def fit_fn(data, spec, options, warm_start=None, search_center=None):
        r = dirs["replicate_of"][signature(data)]
        if calls is not None:
            calls.append((r, spec["model"]))
        if spec["model"] == "oral1cmt":
            if r in raise_pk:
                raise FitError(f"synthetic PK failure of replicate {r}")
            return F.run_fit(data, spec, options, warm_start=warm_start)
        assert spec["model"] == "igg_turnover"
        assert set(spec["pk_individual"]["ID"]) == set(data.ids)  # the replicate's own PK drives it
        return dataclasses.replace(dirs["pd_res"], optimizer={**dirs["pd_res"].optimizer,
                                                              "converged": r not in not_converged_pd})

    return fit_fn


def run_stage(dirs, out_dir, chunks, replicates, monkeypatch, fit_fn, max_failed_share=1.0):
    monkeypatch.setattr(B, "run_fit", fit_fn)
    out_dir.mkdir()
    chunk_files = []
    for k in range(1, chunks + 1):
        p = out_dir / "bootstrap" / f"chunk_{k}-of-{chunks}.csv"
        stage.bootstrap_chunk(dirs["nm"], dirs["pk"], dirs["pd"], str(p), scatteritem=f"{k}-of-{chunks}",
                              replicates=replicates, seed=SEED)
        chunk_files.append(str(p))
    out = {"population": str(out_dir / "population_parameters.csv"), "summary": str(out_dir / "fit_summary.json"),
           "bootstrap": str(out_dir / "bootstrap.csv")}
    stage.bootstrap_gather(chunk_files, dirs["pk"], dirs["pd"], dirs["selection"], out, replicates=replicates,
                           seed=SEED, fit_mode="sequential", max_failed_share=max_failed_share)
    return chunk_files, out


def test_stage_reports_failed_replicates_in_the_files(fitted_dirs, tmp_path, monkeypatch):
    calls: list = []
    fit_fn = stage_fit(fitted_dirs, raise_pk=(2,), not_converged_pd=(5,), calls=calls)
    chunk_files, out = run_stage(fitted_dirs, tmp_path / "run", 2, 6, monkeypatch, fit_fn)
    assert (2, "igg_turnover") not in calls  # a failed PK refit ends the replicate
    # every chunk job wrote its file, failed replicates included
    chunk = pd.read_csv(chunk_files[0])
    assert chunk["replicate"].tolist() == [1, 2, 3]
    assert chunk.set_index("replicate").loc[2, "status"] == "failed"
    assert "synthetic PK failure of replicate 2" in chunk.set_index("replicate").loc[2, "message"]
    boot = pd.read_csv(out["bootstrap"])
    assert boot["replicate"].tolist() == [1, 2, 3, 4, 5, 6]
    assert boot["status"].tolist() == ["ok", "failed", "ok", "ok", "failed", "ok"]
    assert "PD (igg_turnover) fit did not converge" in boot.set_index("replicate").loc[5, "message"]
    summary = json.loads(open(out["summary"]).read())
    b = summary["bootstrap"]
    assert (b["replicates"], b["n_ok"], b["n_failed"], b["failed_replicates"]) == (6, 4, 2, [2, 5])
    assert b["n_not_converged"] == {"pk": 0, "pd": 1}
    assert (b["seed"], b["chunks"]) == (SEED, 2)
    assert summary["chosen_pk_model"] == "oral1cmt"
    pop = pd.read_csv(out["population"])
    assert pop.columns.tolist() == POP_COLUMNS + ["part", "model"] + BOOT_COLUMNS
    assert set(pop["part"]) == {"PK", "PD"}
    ok = boot[boot["status"] == "ok"]
    for _, row in pop.iterrows():
        lo, hi = B.percentile_ci(ok[row["parameter"]].to_numpy(dtype=float))
        assert row["boot_n_ok"] == 4
        assert row["boot_ci_low"] == pytest.approx(lo, rel=1e-9, nan_ok=True)
        assert row["boot_ci_high"] == pytest.approx(hi, rel=1e-9, nan_ok=True)
    assert np.isfinite(pop.loc[pop["parameter"] == "CL", "boot_ci_low"]).all()


def test_stage_all_failed_and_empty_chunks(fitted_dirs, tmp_path, monkeypatch):
    # 3 chunks for 2 replicates: chunk 1 has none (header only); both replicates fail
    chunk_files, out = run_stage(fitted_dirs, tmp_path / "run", 3, 2, monkeypatch,
                                 stage_fit(fitted_dirs, raise_pk=(1, 2)))
    assert pd.read_csv(chunk_files[0]).empty
    summary = json.loads(open(out["summary"]).read())["bootstrap"]
    assert (summary["n_ok"], summary["n_failed"], summary["failed_replicates"]) == (0, 2, [1, 2])
    pop = pd.read_csv(out["population"])
    assert pop["boot_ci_low"].isna().all() and pop["boot_ci_high"].isna().all() and (pop["boot_n_ok"] == 0).all()


def test_chunk_jobs_are_retried_by_the_profile(root):
    """A chunk job that crashes as a whole is retried (its output was written only at its end
    and is removed by Snakemake when the job fails)."""
    profile = yaml.safe_load((root / "profiles" / "default" / "config.yaml").read_text())
    assert int(profile["retries"]) >= 1


@pytest.mark.slow
def test_real_sequential_refits_give_byte_identical_files_whatever_the_chunks(fitted_dirs, tmp_path, monkeypatch):
    """PK then IgG refits for real (a few seconds per replicate): 1 chunk or 3, same bytes."""
    files = {}
    for chunks in (1, 3):
        _, out = run_stage(fitted_dirs, tmp_path / f"c{chunks}", chunks, 3, monkeypatch, F.run_fit)
        files[chunks] = {k: open(v, "rb").read() for k, v in out.items() if k != "summary"}
        summary = json.loads(open(out["summary"]).read())["bootstrap"]
        assert summary["replicates"] == 3 and summary["n_ok"] + summary["n_failed"] == 3
    assert files[1] == files[3]


# ------------------------------------------------------------------ bounded refits (issue 13)
def test_restarts_keep_the_search_box_of_the_original_fit(small):
    calls: list = []
    base = converging_on_restart(small, {2}, [])

    def fit_fn(data, spec, options, warm_start=None, search_center=None):
        calls.append((type(warm_start).__name__, search_center is small["fit"]))
        return base(data, spec, options, warm_start=warm_start)

    B.run_chunk(small["data"], None, small["fit"], small["params"], [2], SEED, BOOT_OPTIONS, fit_fn, restarts=1)
    # the restart starts from its end point, but its box stays around the original estimates
    assert calls == [("FittedModel", True), ("FitResult", True)]


@pytest.mark.filterwarnings("ignore:estimation did not converge:fcrnpipe.nlme.estimate.FitWarning")
def test_a_refit_out_of_evaluation_budget_is_a_failed_replicate_with_its_reason(small):
    # both replicates need more than 12 OFV evaluations (replicate 2 converges in 15: its
    # curvature probes leave the incumbent alone and need no re-evaluation since issue 11)
    opts = dataclasses.replace(BOOT_OPTIONS, max_evaluations=12)
    t = B.run_chunk(small["data"], None, small["fit"], small["params"], [1, 2], SEED, opts, restarts=0)
    assert t["status"].tolist() == ["failed", "failed"]
    for msg in t["message"]:
        assert "evaluation budget used up" in msg and "max_evaluations = 12" in msg
    assert t[small["params"]].isna().all().all()
    # a restart has a budget of its own
    t1 = B.run_chunk(small["data"], None, small["fit"], small["params"], [1, 2], SEED, opts, restarts=1)
    assert t1["restarts"].tolist() == [1, 1]


def test_a_replicate_with_an_estimate_on_its_search_box_is_flagged(small):
    free = B.run_chunk(small["data"], None, small["fit"], small["params"], [1], SEED, BOOT_OPTIONS)
    assert free.loc[0, "at_bound"] == "" and free.loc[0, "status"] == "ok"
    opts = dataclasses.replace(BOOT_OPTIONS, search_range=1.002)  # 0.2% around the original estimates
    t = B.run_chunk(small["data"], None, small["fit"], small["params"], [1], SEED, opts)
    assert t.loc[0, "status"] == "ok"
    assert "PK/PD theta[log" in t.loc[0, "at_bound"]
    assert "on the search bound" in t.loc[0, "message"]
    original = small["fit"].theta_natural
    for p in ("ka", "CL", "V"):  # every estimate within the box
        assert abs(math.log(t.loc[0, p] / original[p])) <= math.log(1.002) * 1.0001


def test_gather_leaves_replicates_on_a_bound_out_of_the_intervals(tmp_path):
    rows = [hand_row(1, cl=1.0, v=10.0), hand_row(2, cl=2.0, v=20.0), hand_row(3, cl=3.0, v=30.0),
            hand_row(4, cl=1000.0, v=99.0), hand_row(5, cl=4.0, v=40.0)]
    rows[3]["at_bound"] = "PK theta[log CL]"
    chunks = csv_round_trip([B.replicate_frame(rows, PARAMS)], tmp_path)
    allr, pop, info = B.gather(chunks, hand_population(), 5, ["Km"])
    assert allr["at_bound"].tolist() == ["", "", "", "PK theta[log CL]", ""]
    cl = pop.set_index("parameter").loc["CL"]
    assert (cl["boot_ci_low"], cl["boot_ci_high"], cl["boot_n_ok"]) == (pytest.approx(1.075), pytest.approx(3.925), 4)
    assert (info["n_ok"], info["n_at_bound"], info["n_excluded_at_bound"], info["n_used"]) == (5, 1, 1, 4)
    assert info["at_bound_replicates"] == [4]
    _, pop_all, info_all = B.gather(chunks, hand_population(), 5, ["Km"], exclude_at_bound=False)
    assert pop_all.set_index("parameter").loc["CL", "boot_n_ok"] == 5
    assert (info_all["n_excluded_at_bound"], info_all["n_used"]) == (0, 5)


def test_too_many_unusable_replicates_fail_the_gather_with_a_message():
    info = {"replicates": 200, "n_failed": 15, "n_excluded_at_bound": 5}
    B.check_failed_share(info, 0.10)  # 20 of 200 = 10%: not more than the share
    info["n_excluded_at_bound"] = 6
    with pytest.raises(UserError, match=r"21 of 200 replicates are unusable \(15 failed, 6 with an estimate on the "
                                        r"search bound\) = 10\.5%.*max_failed_share = 10%"):
        B.check_failed_share(info, 0.10)
    B.check_failed_share({"replicates": 0, "n_failed": 0, "n_excluded_at_bound": 0}, 0.0)


def test_stage_gather_fails_over_the_failed_share_and_keeps_the_chunks(fitted_dirs, tmp_path, monkeypatch):
    fit_fn = stage_fit(fitted_dirs, raise_pk=(2,), not_converged_pd=(5,))
    with pytest.raises(UserError, match="2 of 6 replicates are unusable"):
        run_stage(fitted_dirs, tmp_path / "run", 2, 6, monkeypatch, fit_fn, max_failed_share=0.10)
    chunks = sorted((tmp_path / "run" / "bootstrap").glob("chunk_*.csv"))
    assert len(chunks) == 2 and not (tmp_path / "run" / "population_parameters.csv").exists()


# ------------------------------------------------------------- stratified resampling (issue 10)
def design_2_7(tmp_path) -> "NMData":
    """9 subjects as in the reference study: IDs 1-2 at 340 mg, 3-9 at 680 mg (one dose, one
    concentration each)."""
    rows = []
    for i in range(1, 10):
        dose = 340.0 if i <= 2 else 680.0
        rows.append([i, 0.0, dose, "", 1, 1, 1, 0, "", dose])
        rows.append([i, 24.0, 0.0, 10.0 + i, 0, 0, 2, 0, "", dose])
    df = pd.DataFrame(rows, columns=["ID", "TIME", "AMT", "DV", "EVID", "MDV", "CMT", "BLQ", "LLOQ", "DOSE"])
    p = tmp_path / "nm_2_7.csv"
    df.to_csv(p, index=False)
    return read_nm_dataset(p)


def test_subject_strata_and_draws_hand_values(tmp_path):
    from fcrnpipe.nlme.simulate import draw_subjects, subject_strata

    data = design_2_7(tmp_path)
    strata = subject_strata(data, "DOSE")
    assert strata == {**{str(i): "340.0" for i in (1, 2)}, **{str(i): "680.0" for i in range(3, 10)}}
    assert set(subject_strata(data, None).values()) == {""}
    with pytest.raises(ValueError, match="no such column"):
        subject_strata(data, "WT")
    # strata in sorted order of their labels, each drawn with replacement from its members
    rng = np.random.default_rng(5)
    ids = [str(i) for i in range(1, 10)]
    drawn = draw_subjects(ids, strata, rng)
    ref = np.random.default_rng(5)
    a = ref.integers(0, 2, size=2)
    b = ref.integers(0, 7, size=7)
    assert drawn == [ids[j] for j in a] + [ids[2 + j] for j in b]


def test_stratified_replicates_keep_both_dose_levels(tmp_path):
    """(7/9)^9 = 10.4% of plain resamples of the reference design hold no 340 mg subject
    (24 of the first 200 replicates of the default seed); stratified, every one holds 2 + 7."""
    from fcrnpipe.nlme.simulate import subject_strata

    data = design_2_7(tmp_path)
    strata = subject_strata(data, "DOSE")

    def n340(boot) -> int:
        first = boot.records.groupby("ID", sort=False)["ORIG_ID"].first().astype(str)
        return int(first.isin(["1", "2"]).sum())

    plain = [n340(resample_subjects(data, B.replicate_rng(SEED, r))) for r in range(1, 201)]
    strat = [n340(resample_subjects(data, B.replicate_rng(SEED, r), strata)) for r in range(1, 201)]
    assert plain.count(0) == 24
    assert set(strat) == {2}
    # unstratified resampling is what it was (same draws for the same generator)
    again = resample_subjects(data, B.replicate_rng(SEED, 7))
    before = np.random.default_rng([SEED, 7]).integers(0, 9, size=9)
    assert again.records.groupby("ID", sort=False)["ORIG_ID"].first().astype(str).tolist() == [str(j + 1) for j in before]


def test_replicate_rows_list_their_subjects(small):
    strata = {str(i): ("a" if str(i) in ("1", "2", "3") else "b") for i in small["data"].ids}
    t = B.run_chunk(small["data"], None, small["fit"], small["params"], [1, 2], SEED, BOOT_OPTIONS, strata=strata)
    for sub in t["subjects"]:
        ids = sub.split(";")
        assert len(ids) == len(small["data"].ids)
        assert sum(i in ("1", "2", "3") for i in ids) == 3  # stratum a keeps its 3 subjects
    plain = B.run_chunk(small["data"], None, small["fit"], small["params"], [1], SEED, BOOT_OPTIONS)
    boot = resample_subjects(small["data"], B.replicate_rng(SEED, 1))
    assert plain.loc[0, "subjects"] == ";".join(boot.records.groupby("ID", sort=False)["ORIG_ID"].first().astype(str))
