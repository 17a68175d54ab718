"""The stage's combined result files (fcrnpipe.pkpd.outputs) on hand-made tables, and a fit as a
file (fcrnpipe.pkpd.state): write/load round trip on a small synthetic fit."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from fcrnpipe.errors import UserError
from fcrnpipe.nlme import individual_table, read_nm_dataset
from fcrnpipe.nlme.synthetic import simulate_nm_dataset
from fcrnpipe.pkpd import fitting as F
from fcrnpipe.pkpd.outputs import (
    BOOT_COLUMNS,
    POP_COLUMNS,
    combine_individual,
    combine_population,
    combine_predictions,
    combine_summary,
)
from fcrnpipe.pkpd.state import STATE_VERSION, load_state, pk_for_pd, write_state

nan = float("nan")


# ------------------------------------------------------------------------------ outputs
def pop_table(names, extra_col=True):
    t = pd.DataFrame(
        {
            "parameter": names,
            "estimate": np.arange(1.0, len(names) + 1),
            "se": 0.1,
            "rse_pct": 10.0,
            "ci_low": 0.5,
            "ci_high": 2.0,
            "unit": "-",
            "kind": "fixed",
        }
    )
    if extra_col:
        t["shrinkage_pct"] = 5.0  # not part of the combined table
    return t


def test_combine_population_columns_and_order():
    out = combine_population([("PK", "sc1cmt_mm", pop_table(["ka", "CL"])),
                              ("PD", "igg_turnover", pop_table(["IgG0", "kout", "EC50"]))])
    assert out.columns.tolist() == POP_COLUMNS + ["part", "model"]
    assert out["parameter"].tolist() == ["ka", "CL", "IgG0", "kout", "EC50"]
    assert out["part"].tolist() == ["PK", "PK", "PD", "PD", "PD"]
    assert out["model"].tolist() == ["sc1cmt_mm"] * 2 + ["igg_turnover"] * 3
    assert out["estimate"].tolist() == [1.0, 2.0, 1.0, 2.0, 3.0]
    assert not set(BOOT_COLUMNS) & set(out.columns)


def test_combine_population_keeps_names_unique():
    out = combine_population([("PK", "a", pop_table(["CL", "sigma"])), ("PD", "b", pop_table(["kout", "sigma"]))])
    assert out["parameter"].tolist() == ["CL", "PK:sigma", "kout", "PD:sigma"]


def id_map():
    return pd.DataFrame(
        {"ID": [10, 1, 2], "USUBJID": ["S-10", "S-1", "S-2"], "ARMCD": ["HIGH", "LOW", "HIGH"], "DOSE": [680, 340, 680]}
    )


def test_combine_individual_outer_join_in_numeric_id_order():
    pk = pd.DataFrame({"ID": ["1", "2", "10"], "ETA_CL": [0.1, -0.2, 0.3], "CL": [1.0, 2.0, 3.0]})
    pdt = pd.DataFrame({"ID": [2, 1], "USUBJID": ["x", "y"], "IgG0": [9.0, 11.0]})  # USUBJID clashes: dropped
    out = combine_individual(id_map(), [pk, pdt])
    assert out.columns.tolist() == ["ID", "USUBJID", "ARMCD", "ETA_CL", "CL", "IgG0"]
    assert out["ID"].tolist() == [1, 2, 10] and str(out["ID"].dtype) == "Int64"  # 1, 2, 10 -- not "1", "10", "2"
    assert out["USUBJID"].tolist() == ["S-1", "S-2", "S-10"]
    assert out["CL"].tolist() == [1.0, 2.0, 3.0]
    assert out["IgG0"].tolist()[:2] == [11.0, 9.0] and math.isnan(out["IgG0"].iloc[2])  # no IgG for 10


def test_combine_individual_text_ids():
    idm = pd.DataFrame({"ID": ["B", "A"], "USUBJID": ["S-B", "S-A"], "ARMCD": ["X", "Y"]})
    out = combine_individual(idm, [pd.DataFrame({"ID": ["A", "B"], "CL": [1.0, 2.0]})])
    assert out["ID"].tolist() == ["A", "B"] and out["CL"].tolist() == [1.0, 2.0]


def test_combine_predictions_sorted_and_labelled():
    def pred(rows):
        return pd.DataFrame(rows, columns=["ID", "ROW", "TIME", "CMT", "DV", "PRED", "IPRED", "CWRES"])

    pk = pred([["2", 3, 5.0, 2, 1.0, 1.1, 1.0, 0.1], ["10", 9, 1.0, 2, 2.0, 2.1, 2.0, 0.2],
               ["1", 1, 5.0, 2, 3.0, 3.1, 3.0, 0.3]])
    pdt = pred([["1", 2, 5.0, 3, 9.0, 9.1, 9.0, 0.4], ["1", 0, 0.0, 3, 10.0, 10.1, 10.0, 0.5]])
    out = combine_predictions(id_map(), [("PK", pk), ("PD", pdt)])
    assert out.columns.tolist()[:4] == ["ID", "USUBJID", "ARMCD", "part"]
    assert out["ID"].tolist() == [1, 1, 1, 2, 10]
    assert list(zip(out["TIME"], out["CMT"], out["part"])) == [
        (0.0, 3, "PD"), (5.0, 2, "PK"), (5.0, 3, "PD"), (5.0, 2, "PK"), (1.0, 2, "PK")
    ]
    assert out["ARMCD"].tolist() == ["LOW", "LOW", "LOW", "HIGH", "HIGH"]
    assert out["CWRES"].tolist() == [0.5, 0.3, 0.4, 0.1, 0.2]


def test_combine_summary():
    sel = pd.DataFrame({"model": ["sc1cmt_mm", "oral1cmt"], "AIC": [10.0, nan], "chosen": [True, False]})
    s = combine_summary({"model": "sc1cmt_mm", "ofv": 1.0}, {"model": "igg_turnover"}, sel, "sequential",
                        bootstrap={"n_ok": 7, "n_failed": 1, "failed_replicates": [3]}, extra={"note": "x"})
    assert s["chosen_pk_model"] == "sc1cmt_mm" and s["fit_mode"] == "sequential"
    assert s["model_selection"][1] == {"model": "oral1cmt", "AIC": None, "chosen": False}  # NaN -> null
    assert s["pk"]["ofv"] == 1.0 and s["pd"]["model"] == "igg_turnover"
    assert s["bootstrap"]["failed_replicates"] == [3] and s["note"] == "x"
    json.dumps(s, allow_nan=False)
    s2 = combine_summary(None, {"model": "sc1cmt_mm+igg_turnover"}, sel, "simultaneous")
    assert s2["pk"] is None and "bootstrap" not in s2


# -------------------------------------------------------------------------------- state
@pytest.fixture(scope="module")
def oral_fit(tmp_path_factory):
    base = tmp_path_factory.mktemp("state")
    study = simulate_nm_dataset(n_subjects=6, seed=3)
    nm = base / "nm.csv"
    study.records[study.records["CMT"] != 3].to_csv(nm, index=False)
    data = read_nm_dataset(nm)
    spec = F.pk_spec("oral1cmt", "proportional", "M3")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = F.run_fit(data, spec, F.fit_options({"covariance": "hessian"}, F.FINAL_FIT_OPTIONS))
    return {"data": data, "spec": spec, "res": res, "base": base}


def test_state_round_trip_is_exact(oral_fit, tmp_path):
    res, spec = oral_fit["res"], oral_fit["spec"]
    p = tmp_path / "fit.json"
    write_state(res, spec, p, extra={"candidate": "oral1cmt"})
    fm = load_state(p)
    assert fm.spec == json.loads(json.dumps(spec)) and fm.model_name == "oral1cmt"
    assert fm.extra == {"candidate": "oral1cmt"}
    np.testing.assert_array_equal(fm.x, res.x)  # JSON floats round-trip exactly
    np.testing.assert_array_equal(fm.eta, res.eta)
    assert fm.ids == [str(i) for i in res.problem.design.ids]
    assert fm.theta_natural == res.theta_natural
    np.testing.assert_array_equal(fm.theta, res.theta)
    np.testing.assert_array_equal(fm.omega, res.omega)
    for a, b in zip(fm.sigmas, res.sigmas):
        np.testing.assert_array_equal(a, b)
    assert res.covariance.ok and fm.covariance.ok
    np.testing.assert_array_equal(fm.covariance.cov_x, res.covariance.cov_x)
    ind = individual_table(res)
    nat = fm.individual_natural()
    assert nat["ID"].tolist() == ind["ID"].astype(str).tolist()
    for c in ("ka", "CL", "V"):
        np.testing.assert_allclose(nat[c].to_numpy(), ind[c].to_numpy(), rtol=1e-9)  # table: 10 digits
    # deterministic file
    p2 = tmp_path / "fit2.json"
    write_state(res, spec, p2, extra={"candidate": "oral1cmt"})
    assert p.read_bytes() == p2.read_bytes()


def test_loaded_state_warm_starts_like_the_fit(oral_fit, tmp_path):
    res, spec = oral_fit["res"], oral_fit["spec"]
    write_state(res, spec, tmp_path / "fit.json")
    fm = load_state(tmp_path / "fit.json")
    opts = F.fit_options(None, F.BOOTSTRAP_FIT_OPTIONS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = F.run_fit(oral_fit["data"], spec, opts, warm_start=res)
        b = F.run_fit(oral_fit["data"], spec, opts, warm_start=fm)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.ofv == b.ofv


def test_load_state_errors(oral_fit, tmp_path):
    p = tmp_path / "fit.json"
    write_state(oral_fit["res"], oral_fit["spec"], p)
    d = json.loads(p.read_text())
    d["version"] = STATE_VERSION + 1
    p.write_text(json.dumps(d))
    with pytest.raises(UserError, match="version"):
        load_state(p)
    p.write_text("{not json")
    with pytest.raises(UserError, match="not a readable fit file"):
        load_state(p)
    with pytest.raises(UserError, match="not a readable fit file"):
        load_state(tmp_path / "missing.json")


def test_pk_for_pd_hand_values():
    ind = pd.DataFrame({"ID": [1, 2], "ka": [0.01, 0.02], "CL": [0.1, 0.2], "V": [5.0, 6.0]})
    out, typ = pk_for_pd(ind, {"ka": 0.015, "CL": 0.15, "V": 5.5}, "oral1cmt")
    # hours -> days; no saturable route
    assert out.columns.tolist() == ["ID", "ka", "CL", "V", "Vmax", "Km"]
    assert out["ID"].tolist() == ["1", "2"]
    np.testing.assert_allclose(out["ka"], [0.24, 0.48])
    np.testing.assert_allclose(out["CL"], [2.4, 4.8])
    assert out["V"].tolist() == [5.0, 6.0] and out["Vmax"].tolist() == [0.0, 0.0] and out["Km"].tolist() == [1.0, 1.0]
    assert typ == pytest.approx({"ka": 0.36, "CL": 3.6, "V": 5.5, "Vmax": 0.0, "Km": 1.0})
    mm = pd.DataFrame({"ID": ["7"], "ka": [0.3], "CL": [0.3], "V": [5.0], "Vmax": [50.0], "Km": [1.0], "ETA_CL": [0.1]})
    out2, typ2 = pk_for_pd(mm, {"ka": 0.3, "CL": 0.3, "V": 5.0, "Vmax": 50.0, "Km": 1.0}, "sc1cmt_mm")
    assert out2.columns.tolist() == ["ID", "ka", "CL", "V", "Vmax", "Km"] and out2["Vmax"].tolist() == [50.0]
    assert typ2["Vmax"] == 50.0
    with pytest.raises(UserError):
        pk_for_pd(mm, {}, "two_compartment")
