"""End to end: the PK/PD stage on (a copy of) the reference study with the fast test config.

Reads the session's whole-pipeline run (``reference_run`` of tests/conftest.py) if there is
one; otherwise runs Snakemake up to the PK/PD targets only into a temporary results folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline import FAST_CONFIG, ROOT, snakemake

from fcrnpipe.pkpd.outputs import BOOT_COLUMNS, POP_COLUMNS
from fcrnpipe.pkpd.regimen import REGIMEN_COLUMNS
from fcrnpipe.pkpd.reproduction import REPRODUCTION_COLUMNS
from fcrnpipe.pkpd.selection import SELECTION_COLUMNS
from fcrnpipe.pkpd.vpc import vpc_columns

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("reference_run")]  # reads reference_run (tests/conftest.py)

FIGURES = [f"{name}_{ep}" for name in ("vpc", "gof", "individual_fits") for ep in ("pk", "igg")] + [
    "eta_distributions",
    "regimen_simulation",
]


def _config() -> dict:
    with open(ROOT / "config" / "config.yaml", encoding="utf-8") as fh:
        cfg = yaml.safe_load(fh)
    with open(FAST_CONFIG, encoding="utf-8") as fh:
        fast = yaml.safe_load(fh)

    def merge(a, b):
        for k, v in b.items():
            a[k] = merge(a.get(k, {}), v) if isinstance(v, dict) else v
        return a

    return merge(cfg, fast)


CFG = _config()


@pytest.fixture(scope="module")
def pkpd(request, tmp_path_factory) -> Path:
    """The results folder's ``pkpd/`` of a run with the fast config."""
    try:
        results = request.getfixturevalue("reference_run")["results"]
    except pytest.FixtureLookupError:
        results = tmp_path_factory.mktemp("pkpd_e2e") / "results"
        targets = [str(results / "pkpd" / n) for n in ("population_parameters.csv", "regimen_simulation.csv",
                                                       "vpc_pk.csv", "vpc_igg.csv")]
        targets += [str(results / "pkpd" / "figures" / f"{f}.{ext}") for f in FIGURES for ext in ("png", "svg")]
        snakemake("--cores", "2", *targets, results=results)
    return Path(results) / "pkpd"


def read(pkpd: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(pkpd / name)


def summary(pkpd: Path) -> dict:
    return json.loads((pkpd / "fit_summary.json").read_text(encoding="utf-8"))


def test_chosen_pk_model_is_reported(pkpd):
    sel = read(pkpd, "model_selection.csv")
    assert sel.columns.tolist() == SELECTION_COLUMNS
    assert sel["model"].tolist() == CFG["pkpd"]["pk_candidates"]
    chosen = sel[sel["chosen"]]
    assert len(chosen) == 1
    best = str(chosen["model"].iloc[0])
    assert chosen["AIC"].iloc[0] == sel["AIC"].min() and chosen["delta_AIC"].iloc[0] == 0.0
    s = summary(pkpd)
    assert s["chosen_pk_model"] == best
    assert s["pk"]["model"] == best and s["pd"]["model"] == CFG["pkpd"]["pd_model"]
    assert s["fit_mode"] == CFG["pkpd"]["fit_mode"]
    assert [r["model"] for r in s["model_selection"]] == sel["model"].tolist()
    # the chosen candidate's fit is the one carried forward
    assert (pkpd / "pk" / "fit_summary.json").read_bytes() == (pkpd / "candidates" / best / "fit_summary.json").read_bytes()


def test_population_parameters_with_bootstrap(pkpd):
    pop = read(pkpd, "population_parameters.csv")
    assert pop.columns.tolist()[: len(POP_COLUMNS)] == POP_COLUMNS
    assert set(BOOT_COLUMNS) <= set(pop.columns) and {"part", "model"} <= set(pop.columns)
    assert set(pop["kind"]) <= {"fixed", "iiv", "residual"} and pop["parameter"].is_unique
    assert set(pop["part"]) == {"PK", "PD"}
    est = pop[pop["se"].notna()]
    assert len(est) >= 10
    np.testing.assert_allclose(est["rse_pct"], 100 * est["se"] / est["estimate"].abs(), rtol=1e-6)
    assert (est["ci_low"] <= est["estimate"]).all() and (est["estimate"] <= est["ci_high"]).all()
    boot = summary(pkpd)["bootstrap"]
    n_rep = CFG["pkpd"]["bootstrap"]["replicates"]
    assert boot["replicates"] == n_rep and boot["chunks"] == CFG["pkpd"]["bootstrap"]["chunks"]
    assert boot["n_ok"] + boot["n_failed"] == n_rep and len(boot["failed_replicates"]) == boot["n_failed"]
    assert boot["seed"] == CFG["seeds"]["bootstrap"]
    assert boot["n_ok"] >= 2
    assert (pop["boot_n_ok"] <= boot["n_ok"]).all()
    assert (est["boot_n_ok"] == boot["n_ok"]).all()
    assert np.isfinite(est[["boot_ci_low", "boot_ci_high"]].to_numpy()).all()
    assert (est["boot_ci_low"] <= est["boot_ci_high"]).all()
    # held fixed (Km): no interval
    fixed = pop[pop["se"].isna() & (pop["kind"] == "fixed")]
    assert fixed["boot_ci_low"].isna().all()


def test_bootstrap_table_has_every_replicate_of_every_chunk(pkpd):
    boot = read(pkpd, "bootstrap.csv")
    n_rep = CFG["pkpd"]["bootstrap"]["replicates"]
    assert boot["replicate"].tolist() == list(range(1, n_rep + 1))
    assert set(boot["status"]) <= {"ok", "failed"}
    s = summary(pkpd)["bootstrap"]
    assert boot.loc[boot["status"] == "failed", "replicate"].tolist() == s["failed_replicates"]
    assert boot.loc[boot["status"] == "failed", "message"].notna().all()
    n = CFG["pkpd"]["bootstrap"]["chunks"]
    chunks = pd.concat([read(pkpd, f"bootstrap/chunk_{k}-of-{n}.csv") for k in range(1, n + 1)], ignore_index=True)
    pd.testing.assert_frame_equal(chunks.sort_values("replicate").reset_index(drop=True), boot, check_dtype=False)
    # ok replicates are the percentile intervals' data
    pop = read(pkpd, "population_parameters.csv").set_index("parameter")
    ok = boot[boot["status"] == "ok"]
    lo, hi = np.percentile(ok["CL"], [2.5, 97.5])
    assert pop.loc["CL", "boot_ci_low"] == pytest.approx(lo, rel=1e-8)
    assert pop.loc["CL", "boot_ci_high"] == pytest.approx(hi, rel=1e-8)


def test_individual_parameters_one_row_per_pk_subject(pkpd):
    nm = read(pkpd, "nm_dataset.csv")
    pk_ids = set(nm.loc[(nm["EVID"] == 0) & (nm["CMT"] == 2), "ID"].astype(str))
    ind = read(pkpd, "individual_parameters.csv")
    assert ind["ID"].is_unique and ind["USUBJID"].is_unique
    assert set(ind.loc[ind["CL"].notna(), "ID"].astype(str)) == pk_ids
    assert set(ind["ID"].astype(str)) == set(read(pkpd, "nm_id_map.csv")["ID"].astype(str))
    assert len(ind) == len(pk_ids)  # every modelled subject has concentrations in the reference study
    for col in ("ETA_CL", "ETA_V", "ETA_Vmax", "ETA_IgG0", "ETA_kout", "ETA_EC50", "IgG0", "kout", "EC50"):
        assert ind[col].notna().all(), col


def test_model_reproduces_the_published_pd(pkpd):
    rep = read(pkpd, "pd_reproduction.csv")
    assert rep.columns.tolist() == REPRODUCTION_COLUMNS
    high = rep[rep["dose_mg"] == 680].set_index("visit")
    assert high.loc["WEEK 1", "model_mean_pct"] < 50  # > 50% reduction at week 1
    assert high.loc["WEEK 3", "model_mean_pct"] < 30  # > 70% reduction at week 3
    assert 75 <= high.loc["WEEK 12", "model_mean_pct"] <= 90  # ~80% of baseline 9 weeks after the last dose
    assert high.loc["WEEK 12", "nominal_day"] - (max(CFG["study"]["dosing_days"]) - 1) == 63
    assert high["model_holds"].astype(str).eq("True").all()
    assert high["observed_holds"].astype(str).eq("True").all()
    assert set(rep["arm"]) == {a["armcd"] for a in CFG["study"]["arms"]}


def test_regimen_table(pkpd):
    reg = read(pkpd, "regimen_simulation.csv")
    assert reg.columns.tolist() == REGIMEN_COLUMNS
    assert reg["regimen"].tolist() == [r["name"] for r in CFG["pkpd"]["regimens"]]
    assert (reg["n_trials"] == CFG["pkpd"]["regimen_simulation"]["trials"]).all()
    assert (reg["subjects_per_trial"] == CFG["pkpd"]["regimen_simulation"]["subjects"]).all()
    # one population parameter set per trial from the bootstrap replicates (the rule's input)
    n_boot = CFG["pkpd"]["bootstrap"]["replicates"]
    assert reg["uncertainty"].str.startswith("bootstrap replicates (").all()
    assert reg["uncertainty"].str.contains(f" of {n_boot}").all()
    for col in ("t50_median_day", "t70_median_day", "recovery80_median_day"):
        assert reg[col].notna().all(), col
    for key in ("t50", "t70", "recovery80"):  # the median within its band across trials
        assert (reg[f"{key}_median_lo_day"] <= reg[f"{key}_median_day"]).all()
        assert (reg[f"{key}_median_day"] <= reg[f"{key}_median_hi_day"]).all()
    assert (reg["nadir_pct_p05"] <= reg["nadir_pct_median"]).all() and (reg["nadir_pct_median"] <= reg["nadir_pct_p95"]).all()
    r = reg.set_index("regimen")
    # higher dose: faster; maintenance doses: the same start, the later last dose
    assert r.loc["680 mg QW x4", "t50_median_day"] < r.loc["340 mg QW x4", "t50_median_day"]
    assert r.loc["680 mg QW x4 then 340 mg Q2W", "last_dose_day"] == 77.0
    prof = read(pkpd, "regimen_profiles.csv")
    assert sorted(prof["regimen"].unique()) == sorted(reg["regimen"])
    assert (prof["pct_median_lo"] <= prof["pct_median"] + 1e-9).all() and (prof["pct_median"] <= prof["pct_median_hi"] + 1e-9).all()


@pytest.mark.parametrize("endpoint", ["pk", "igg"])
def test_vpc_tables(pkpd, endpoint):
    v = read(pkpd, f"vpc_{endpoint}.csv")
    # by dose level; at most 7 subjects per bin: the 10th/50th/90th percentiles (auto)
    assert v.columns.tolist() == vpc_columns((10, 50, 90)) and len(v) >= 10
    assert (v["percentiles"] == "10/50/90").all()
    assert v["stratum"].unique().tolist() == ["340 mg", "680 mg"]
    assert v.groupby("stratum")["n_subjects"].max().to_dict() == ({"340 mg": 2, "680 mg": 7} if endpoint == "pk"
                                                                  else {"340 mg": 2, "680 mg": 6})
    assert (v["n_replicates"] == CFG["pkpd"]["vpc"]["replicates"]).all()
    for p in ("10", "50", "90"):
        assert v[f"obs_p{p}"].notna().any()
        lo, med, hi = (v[f"sim_p{p}_{s}"].to_numpy(float) for s in ("lo", "med", "hi"))
        ok = np.isfinite(lo) & np.isfinite(hi)
        assert ok.sum() >= 5
        assert (lo[ok] <= med[ok]).all() and (med[ok] <= hi[ok]).all()
    # the observed median lies within its prediction interval in most bins
    inside = (v["obs_p50"] >= v["sim_p50_lo"]) & (v["obs_p50"] <= v["sim_p50_hi"])
    assert inside.mean() >= 0.6


def test_figures_exist(pkpd):
    for f in FIGURES:
        for ext in ("png", "svg"):
            p = pkpd / "figures" / f"{f}.{ext}"
            assert p.is_file() and p.stat().st_size > 10_000, p
