"""Covariate relations in the pipeline (issue 10, item 9): config ``pkpd.covariates`` -> fit
specifications, ``fit.json`` round trip, and virtual subjects with covariates (VPC, regimens).

Hand values: CL = 0.344 L/day at 70 kg with a fixed exponent 0.75 gives a 35 kg subject
``0.344 * 0.5^0.75 = 0.204544`` L/day and a 140 kg subject ``0.344 * 2^0.75 = 0.578537``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from fcrnpipe.errors import UserError
from fcrnpipe.nlme import population_table, validate_nm_frame
from fcrnpipe.pkpd import fitting as F
from fcrnpipe.pkpd import stage
from fcrnpipe.pkpd.regimen import covariate_pool
from fcrnpipe.pkpd.simulation import JOINT_NAMES, PkPdModel, x_from_estimates
from fcrnpipe.pkpd.state import load_state, write_state
from pkpd_models import PD_VALUES, PK_VALUES, STEROID, fitted
from test_nlme_covariates import quiet, simulate_oral_wt

WT_CL = {"parameter": "CL", "covariate": "WT", "reference": 70, "exponent": 0.75, "estimate": False}
WT_V = {"parameter": "V", "covariate": "wt", "reference": "median", "exponent": 1.0, "estimate": True}


def wt_model(relations=(WT_CL,)) -> PkPdModel:
    """The sequential model of :mod:`pkpd_models` with covariate relations on the PK fit."""
    spec = F.pk_spec("sc1cmt_mm", "proportional", "M3")
    spec["covariates"] = [{**r, "covariate": r["covariate"].upper(), "reference": float(r["reference"])}
                          for r in relations]
    pk = fitted(spec, PK_VALUES, [np.array([0.144])])
    pk_ind = pd.DataFrame([{"ID": "1", **PK_VALUES}])
    pd_fit = fitted(F.pd_spec(pk_ind, PK_VALUES, STEROID, "proportional", "M3"), PD_VALUES, [np.array([0.063])])
    return PkPdModel(pk, pd_fit)


def plain_model() -> PkPdModel:
    return wt_model(relations=())


# ----------------------------------------------------------------------------- config -> spec
def test_relations_apply_to_the_models_that_have_the_parameter():
    data = validate_nm_frame(simulate_oral_wt(9, seed=1), "nm.csv")
    weights = data.records.groupby("ID")["WT"].first().to_numpy()
    rels = [WT_CL, WT_V, {"parameter": "IgG0", "covariate": "WT", "reference": 70, "exponent": 0.3}]
    spec = F.with_covariates(F.pk_spec("oral1cmt", "proportional", "M3"), rels, data)
    assert [c["parameter"] for c in spec["covariates"]] == ["CL", "V"]  # IgG0 is the PD model's
    assert spec["covariates"][1] == {"parameter": "V", "covariate": "WT", "reference": float(np.median(weights)),
                                     "exponent": 1.0, "estimate": True}
    pd_spec = F.with_covariates({"model": "igg_turnover"}, rels, data)
    assert [c["parameter"] for c in pd_spec["covariates"]] == ["IgG0"]
    # no relation: the specification (and so fit.json) is unchanged
    base = F.pk_spec("oral1cmt", "proportional", "M3")
    assert F.with_covariates(base, [], data) == base and "covariates" not in F.with_covariates(base, [], data)


def test_config_errors_name_the_relation():
    with pytest.raises(UserError, match=r"pkpd.covariates\[1\]: parameter 'Vc' is not a parameter"):
        F.check_covariate_config([WT_CL, {**WT_CL, "parameter": "Vc"}], F.PIPELINE_MODELS)
    with pytest.raises(UserError, match=r"pkpd.covariates\[1\]: WT on CL is listed twice"):
        F.check_covariate_config([WT_CL, {**WT_CL, "covariate": "wt"}], F.PIPELINE_MODELS)
    F.check_covariate_config([WT_CL, WT_V], F.PIPELINE_MODELS)


def test_unknown_covariate_column_stops_the_pk_fit(tmp_path):
    df = simulate_oral_wt(6, seed=1)
    nm = tmp_path / "nm_dataset.csv"
    df.to_csv(nm, index=False)
    out = {k: str(tmp_path / n) for k, n in (("fit", "fit.json"), ("population", "pop.csv"), ("individual", "ind.csv"),
                                             ("predictions", "pred.csv"), ("summary", "summary.json"))}
    with pytest.raises(UserError, match="covariate column BMI is not in the dataset"):
        stage.fit_pk(str(nm), out, candidate="oral1cmt", residual_error="proportional", blq_method="M3",
                     covariates=[{**WT_CL, "covariate": "BMI"}])


# ----------------------------------------------------------------------------- fit.json round trip
@pytest.fixture(scope="module")
def wt_fit(tmp_path_factory):
    """The pipeline's PK fit (oral1cmt) of a study with a weight effect, through the stage
    function, with WT on CL (fixed 0.75) and on V (estimated, reference: median)."""
    tmp = tmp_path_factory.mktemp("wtfit")
    nm = tmp / "nm_dataset.csv"
    simulate_oral_wt(30, seed=7).to_csv(nm, index=False)
    out = {k: str(tmp / n) for k, n in (("fit", "fit.json"), ("population", "pop.csv"), ("individual", "ind.csv"),
                                        ("predictions", "pred.csv"), ("summary", "summary.json"))}
    quiet(stage.fit_pk, str(nm), out, candidate="oral1cmt", residual_error="proportional", blq_method="M3",
          covariates=[WT_CL, WT_V])
    return nm, out


def test_fit_files_carry_the_relations(wt_fit):
    nm, out = wt_fit
    pop = pd.read_csv(out["population"]).set_index("parameter")
    assert pop.loc["WT_on_CL", "estimate"] == 0.75 and np.isnan(pop.loc["WT_on_CL", "se"])
    assert abs(pop.loc["WT_on_V", "estimate"] - 1.0) < 0.25 and pop.loc["WT_on_V", "se"] > 0
    state = json.loads(open(out["fit"]).read())
    ref = float(np.median(pd.read_csv(nm).groupby("ID")["WT"].first()))
    assert [c["reference"] for c in state["spec"]["covariates"]] == [70.0, ref]
    assert state["x_names"][-1] == "WT_on_V"
    first = pd.read_csv(nm, dtype={"ID": str}).groupby("ID", sort=False)["WT"].first()
    assert state["covariate_values"]["WT"] == [float(first[i]) for i in state["ids"]]  # exact, as in the data
    summ = json.loads(open(out["summary"]).read())
    assert [c["name"] for c in summ["covariates"]] == ["WT_on_CL", "WT_on_V"]


def test_state_round_trip_keeps_the_individual_parameters(wt_fit, tmp_path):
    nm, out = wt_fit
    fm = load_state(out["fit"])
    ind = pd.read_csv(out["individual"], dtype={"ID": str}).set_index("ID")
    back = fm.individual_natural().set_index("ID")
    for c in ("ka", "CL", "V"):
        np.testing.assert_allclose(back.loc[ind.index, c], ind[c], rtol=1e-8)
    # typical values: each subject's own weight, CL ~ (WT/70)^0.75 exactly
    typ = fm.typical_natural().set_index("ID")
    wt = pd.Series(fm.covariate_values["WT"], index=fm.ids)
    np.testing.assert_allclose(typ["CL"], fm.theta_natural["CL"] * (wt / 70.0) ** 0.75, rtol=1e-12)
    # a bootstrap-style refit warm-started from the loaded state keeps the estimated exponent
    from fcrnpipe.nlme import FitOptions, fit, read_nm_dataset

    data = read_nm_dataset(nm)
    refit = quiet(fit, data, fm.pm, FitOptions(covariance="none", max_iter=5), warm_start=fm)
    assert refit.beta[1] == pytest.approx(fm.beta[1], abs=0.05)
    # x from the population table's estimates (bootstrap.csv rows) round-trips the exponent
    est = pd.read_csv(out["population"]).set_index("parameter")["estimate"].to_dict()
    np.testing.assert_allclose(x_from_estimates(fm, est), fm.x, rtol=1e-8, atol=1e-9)


# ----------------------------------------------------------------------------- virtual subjects
def test_virtual_subjects_scale_by_their_weight_by_hand():
    m = wt_model()
    typ = m.typical(3, covariates={"WT": np.array([35.0, 70.0, 140.0])})
    cl = typ[:, JOINT_NAMES.index("CL")]
    np.testing.assert_allclose(cl, [0.344 * 0.5**0.75, 0.344, 0.344 * 2**0.75], rtol=1e-6)
    assert cl[0] == pytest.approx(0.204544, rel=1e-5) and cl[2] == pytest.approx(0.578537, rel=1e-5)
    # other parameters are untouched; without covariates: the reference (typical) subject
    np.testing.assert_allclose(typ[:, JOINT_NAMES.index("V")], 4.98, rtol=1e-6)
    np.testing.assert_allclose(m.typical(1)[0], plain_model().typical(1)[0], rtol=1e-12)
    with pytest.raises(ValueError, match="need covariate"):
        m.typical(1, covariates={"AGE": np.array([40.0])})


def test_resampled_weights_come_after_the_random_effects():
    """With a pool, each virtual subject's weight is one of the pool's; the random effects are
    the same numbers as without covariate relations (the draws of the weights come after them),
    so the parameters differ exactly by the weight factor."""
    pool = {"WT": np.array([40.0, 55.0, 90.0, 120.0])}
    m, p = wt_model(), plain_model()
    a = m.sample_at(200, np.random.default_rng(5), m.estimates(), pool=pool)
    b = p.sample_at(200, np.random.default_rng(5), p.estimates())
    k = JOINT_NAMES.index("CL")
    factor = a[:, k] / b[:, k]
    wts = 70.0 * factor ** (1 / 0.75)
    assert np.all(np.min(np.abs(wts[:, None] - pool["WT"][None, :]), axis=1) < 1e-6)
    assert len(set(np.round(wts, 6))) == 4  # all pool values used among 200 subjects
    others = [j for j, n in enumerate(JOINT_NAMES) if n != "CL"]
    np.testing.assert_allclose(a[:, others], b[:, others], rtol=1e-12)


def test_covariate_pool_is_the_datasets_subjects():
    data = validate_nm_frame(simulate_oral_wt(7, seed=2), "nm.csv")
    pool = covariate_pool(wt_model(), data)
    np.testing.assert_allclose(pool["WT"], data.records.groupby("ID", sort=False)["WT"].first().to_numpy())
    assert covariate_pool(plain_model(), data) is None
    assert math.isclose(float(np.min(pool["WT"])), float(data.records["WT"].min()))


# ----------------------------------------------------------------------------- pipeline
@pytest.mark.e2e
@pytest.mark.xdist_group("reference_run")  # seeds from reference_run (tests/conftest.py)
def test_pipeline_fits_the_configured_relations(request, tmp_path):
    """The rules pass config ``pkpd.covariates`` to the PK and PD fits: on the reference study
    (baseline weights 43.6-70.9 kg) with WT on CL (fixed 0.75, reference 70) and on V (estimated,
    reference: the median weight), both PK candidates carry the relations, the chosen fit
    reports ``WT_on_V`` with an SE, and the IgG fit (no parameter named) has none. (The
    validation and ADaM of the session's reference run are reused if there is one.)"""
    from conftest import seed_from_reference_run
    from pipeline import FAST_CONFIG, ROOT, snakemake

    cov = tmp_path / "covariates.yaml"
    cov.write_text("pkpd:\n  covariates:\n"
                   "    - {parameter: CL, covariate: WT, reference: 70, exponent: 0.75}\n"
                   "    - {parameter: V, covariate: WT, reference: median, exponent: 1.0, estimate: true}\n",
                   encoding="utf-8")
    results = seed_from_reference_run(request, tmp_path / "results", ("validation", "adam"))
    targets = [str(results / "pkpd" / "pd" / "fit.json")]
    snakemake("--cores", "2", *targets, "--configfile", str(ROOT / "config" / "config.yaml"), str(FAST_CONFIG),
              str(cov), results=results, fast=False)
    pk = pd.read_csv(results / "pkpd" / "pk" / "population_parameters.csv").set_index("parameter")
    assert pk.loc["WT_on_CL", "estimate"] == 0.75 and np.isnan(pk.loc["WT_on_CL", "se"])
    assert np.isfinite(pk.loc["WT_on_V", "se"])
    for cand in ("sc1cmt_mm", "oral1cmt"):
        state = json.loads((results / "pkpd" / "candidates" / cand / "fit.json").read_text(encoding="utf-8"))
        refs = [c["reference"] for c in state["spec"]["covariates"]]
        weights = pd.read_csv(results / "pkpd" / "nm_dataset.csv").groupby("ID")["WT"].first()
        assert refs == [70.0, float(np.median(weights))]
    pd_state = json.loads((results / "pkpd" / "pd" / "fit.json").read_text(encoding="utf-8"))
    assert "covariates" not in pd_state["spec"]


def test_vpc_simulates_each_observed_subject_with_its_own_weight():
    """Two subjects with the same doses and samples, 35 and 140 kg: their population
    predictions (PRED) differ as the typical subjects of those weights do, and without
    relations they are equal."""
    from fcrnpipe.pkpd.vpc import simulate_vpc

    rows = []
    for sid, wt in ((1, 35.0), (2, 140.0)):
        rows.append([sid, 0, 340, "", 1, 1, 1, 0, "", wt])
        rows += [[sid, t, 0, 10.0, 0, 0, 2, 0, "", wt] for t in (24.0, 96.0, 168.0)]
    data = validate_nm_frame(pd.DataFrame([[str(v) for v in r] for r in rows],
                                          columns=["ID", "TIME", "AMT", "DV", "EVID", "MDV", "CMT", "BLQ", "LLOQ", "WT"]))
    m = wt_model()
    obs, sim = simulate_vpc(data, m, 2, 3, np.random.default_rng(1))
    pred = obs.pivot(index="TIME", columns="ID", values="PRED")
    assert np.all(pred["1"] != pred["2"])
    from fcrnpipe.models import make_design

    design = make_design(["1", "2"], [np.array([24.0, 96.0, 168.0])] * 2, [np.full(3, 2)] * 2,
                         [np.array([0.0])] * 2, [np.array([340.0])] * 2)
    typ = m.predict(design, m.typical(2, covariates={"WT": np.array([35.0, 140.0])}))
    np.testing.assert_allclose(pred[["1", "2"]].to_numpy(), typ.T, rtol=1e-10)
    obs0, _ = simulate_vpc(data, plain_model(), 2, 3, np.random.default_rng(1))
    p0 = obs0.pivot(index="TIME", columns="ID", values="PRED")
    np.testing.assert_allclose(p0["1"], p0["2"], rtol=1e-12)
    assert sim.shape == (3, 6)


def test_a_model_made_by_hand_with_relations_has_reference_typical_values():
    """A :class:`FittedModel` without fitted subjects (no covariate values) still answers."""
    fm = wt_model().pk
    assert fm.covariate_effects().shape == (0, 1)
    assert fm.typical.shape == (0, len(fm.pm.model.param_names))
