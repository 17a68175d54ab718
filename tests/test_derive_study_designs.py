"""Study designs of real exports through the analysis datasets and statistics (issue #9): a placebo
arm, screen failures / subjects not assigned to an arm, AESEV instead of AETOXGR, the PK analyte
and the efficacy scale from config. The 3-subject cut of tests/cutfactory.py, varied."""

from __future__ import annotations

import pandas as pd
import pytest

from cutfactory import valid_cut_frames
from fcrnpipe.derive import derive_adae, derive_adex, derive_adpc, derive_adsl
from fcrnpipe.stats.disposition import disposition, exposure
from fcrnpipe.stats.descriptive import population
from fcrnpipe.stats.safety import teae_by_term, teae_overview
from test_derive_helpers import ARMS, S1, S2, S3, UNITS, VISITS, cut_tables, row

ARMS_PBO = [*ARMS, {"armcd": "PBO", "label": "Placebo", "dose_mg": 0}]
CODES = [a["armcd"] for a in ARMS_PBO]


def placebo_frames() -> dict[str, pd.DataFrame]:
    """S3 randomised to placebo: PLACEBO administrations of 0 mg on the batoclimab days."""
    f = valid_cut_frames()
    f["dm"].loc[f["dm"]["USUBJID"] == S3, ["ARMCD", "ARM"]] = ["PBO", "Placebo"]
    ex = f["ex"]
    drug = (ex["USUBJID"] == S3) & (ex["EXTRT"] == "BATOCLIMAB")
    ex.loc[drug, ["EXTRT", "EXDOSE"]] = ["PLACEBO", "0"]
    pc = f["pc"]
    pc.loc[pc["USUBJID"] == S3, "PCORRES"] = "<BLQ"
    return f


def screen_failure_frames() -> dict[str, pd.DataFrame]:
    """Two screen failures added to DM (SDTMIG 3.2 ARMCD Scrnfail; 3.3 empty ARMCD + ARMNRS), with
    a screening IgG and a SCREEN FAILURE disposition event for the first."""
    f = valid_cut_frames()
    dm = f["dm"]
    extra = pd.DataFrame(
        [
            dict(dm.iloc[0], USUBJID="BATO-103-901", SITEID="103", ARMCD="Scrnfail", ARM="Screen Failure",
                 RFSTDTC="", RFENDTC="", RFICDTC="2022-05-01"),
            dict(dm.iloc[0], USUBJID="BATO-103-902", SITEID="103", ARMCD="", ARM="", RFSTDTC="", RFENDTC="",
                 RFICDTC="2022-05-03", ARMNRS="NOT ASSIGNED"),
        ]
    )  # fmt: skip
    f["dm"] = pd.concat([dm.assign(ARMNRS=""), extra], ignore_index=True).fillna("")
    lb = f["lb"]
    f["lb"] = pd.concat(
        [lb, pd.DataFrame([dict(lb.iloc[0], USUBJID="BATO-103-901", LBSEQ="1", LBDTC="2022-05-02T08:00")])],
        ignore_index=True,
    )
    ds = f["ds"]
    f["ds"] = pd.concat(
        [ds, pd.DataFrame([dict(ds.iloc[1], USUBJID="BATO-103-901", DSDECOD="SCREEN FAILURE", DSTERM="AQP4-IGG NEGATIVE",
                                DSSTDTC="2022-05-04")])],
        ignore_index=True,
    )  # fmt: skip
    return f


def adsl_of(t, arms=ARMS_PBO):
    return derive_adsl(t["dm"], t["ex"], t["ds"], t["vs"], t["lb"], t["pc"], t["qs"], UNITS, arms)


# ----------------------------------------------------------------------------- placebo
def test_placebo_subject_is_treated_for_safety_and_pd_not_for_pk():
    t = cut_tables(**placebo_frames())
    adsl = adsl_of(t)
    s3 = row(adsl, USUBJID=S3)
    assert (s3["TRT01P"], s3["TRT01PN"], s3["TRT01A"]) == ("Placebo", 0.0, "Placebo")
    assert (s3["NDOSE"], s3["CUMDOSE"]) == (2, 0.0)  # two placebo administrations, 0 mg of batoclimab
    assert s3["TRTSDTM"] == pd.Timestamp("2022-05-09 09:15")  # the first placebo administration
    assert (s3["SAFFL"], s3["PKFL"], s3["PDFL"]) == ("Y", "N", "Y")
    assert row(adsl, USUBJID=S1)["PKFL"] == "Y"
    adex = derive_adex(t["dm"], t["ex"], ARMS_PBO, "BATOCLIMAB")
    pbo = adex[(adex["USUBJID"] == S3) & (adex["EXTRT"] == "PLACEBO")]
    assert pbo["DOSENUM"].tolist() == [1, 2] and pbo["ADY"].tolist() == [1, 8]
    adpc = derive_adpc(adsl, adex, t["pc"], UNITS, VISITS, [1, 8, 15, 22])
    s3_pc = adpc[adpc["USUBJID"] == S3]
    assert set(s3_pc["BLQFL"]) == {"Y"} and s3_pc["DOSENUM"].eq(0).all()  # no study-drug dose to refer to
    ex = exposure(adsl, adex, CODES, "BATOCLIMAB")
    doses = ex[(ex["endpoint"] == "Exposure: number of doses") & (ex["statistic"] == "mean")].set_index("arm")
    cum = ex[(ex["endpoint"] == "Exposure: cumulative dose (mg)") & (ex["statistic"] == "mean")].set_index("arm")
    assert doses.loc["PBO", "estimate"] == 2 and cum.loc["PBO", "estimate"] == 0
    assert set(population(adsl, CODES, "SAFFL")["ARMCD"]) == {"BATO340", "BATO680", "PBO"}


def test_pk_analyte_and_efficacy_scale_come_from_config():
    f = valid_cut_frames()
    f["pc"]["PCTESTCD"] = "BATO"
    f["qs"]["QSTESTCD"] = "EDSS01"
    t = cut_tables(**f)
    adsl = derive_adsl(t["dm"], t["ex"], t["ds"], t["vs"], t["lb"], t["pc"], t["qs"], UNITS, ARMS,
                       pk_analyte="BATO", qstestcd="EDSS01")  # fmt: skip
    assert adsl["PKFL"].tolist() == ["Y", "Y", "Y"] and adsl["EDSSBL"].tolist() == [6.5, 4.0, 7.0]
    adex = derive_adex(t["dm"], t["ex"], ARMS, "BATOCLIMAB")
    adpc = derive_adpc(adsl, adex, t["pc"], UNITS, VISITS, [1, 8, 15, 22], pk_analyte="BATO")
    assert set(adpc["PARAMCD"]) == {"BATO"} and set(adpc["AVALU"]) == {"mg/L"}


# ----------------------------------------------------------------------------- screen failures
def test_screen_failures_stay_in_adsl_and_leave_the_analysis_sets():
    t = cut_tables(**screen_failure_frames())
    adsl = adsl_of(t)
    assert len(adsl) == 5
    sf = adsl[adsl["USUBJID"].isin(["BATO-103-901", "BATO-103-902"])]
    assert sf["TRT01P"].tolist() == ["Screen Failure", "Not assigned"]
    assert sf["TRT01PN"].isna().all() and sf["TRTSDT"].isna().all() and (sf["NDOSE"] == 0).all()
    assert set(sf[["SAFFL", "PKFL", "PDFL"]].to_numpy().ravel()) == {"N"}
    assert len(population(adsl, CODES, None)) == 3  # enrolled = assigned to an arm
    adex = derive_adex(t["dm"], t["ex"], ARMS_PBO, "BATOCLIMAB")
    ep = disposition(adsl, adex, CODES, "BATOCLIMAB")
    val = ep.set_index(["endpoint", "arm", "statistic"])["estimate"]
    assert val[("Disposition: screened", "Overall", "n_subjects")] == 5
    assert val[("Disposition: not assigned to an arm", "Overall", "n_subjects")] == 2
    assert val[("Disposition: not assigned to an arm", "Overall", "percent")] == pytest.approx(40.0)
    assert val[("Disposition: not assigned to an arm: SCREEN FAILURE", "Overall", "n_subjects")] == 1
    assert val[("Disposition: not assigned to an arm: NOT ASSIGNED", "Overall", "n_subjects")] == 1
    assert val[("Disposition: enrolled", "Overall", "n_subjects")] == 3
    assert set(ep.loc[ep["endpoint"] == "Disposition: screened", "arm"]) == {"Overall"}  # no arm to count them in


def test_no_screened_rows_when_dm_has_no_screen_failures():
    t = cut_tables()
    adsl = adsl_of(t, ARMS)
    ep = disposition(adsl, derive_adex(t["dm"], t["ex"], ARMS, "BATOCLIMAB"), [a["armcd"] for a in ARMS], "BATOCLIMAB")
    assert not ep["endpoint"].str.startswith(("Disposition: screened", "Disposition: not assigned")).any()


# ----------------------------------------------------------------------------- AESEV
def test_aesev_without_aetoxgr_gives_a_severity_scale():
    f = valid_cut_frames()
    grades = f["ae"]["AETOXGR"].tolist()
    f["ae"] = (
        f["ae"]
        .drop(columns=["AETOXGR"])
        .assign(AESEV=[{"1": "MILD", "2": "MODERATE"}.get(g, "SEVERE") for g in grades])
    )
    t = cut_tables(**f)
    adsl = adsl_of(t, ARMS)
    adae = derive_adae(adsl, t["ae"], ["RELATED", "POSSIBLY RELATED", "PROBABLY RELATED"], 190)
    assert {"ASEV", "ASEVN"} <= set(adae.columns) and adae["ATOXGR"].isna().all()
    assert list(adae.columns).index("ASEV") == list(adae.columns).index("ATOXGR") + 1
    assert adae["ASEVN"].tolist() == [{"MILD": 1, "MODERATE": 2, "SEVERE": 3}[s] for s in adae["ASEV"]]
    codes = [a["armcd"] for a in ARMS]
    overview = teae_overview(adsl, adae, codes)
    assert "TEAE: severe" in set(overview["endpoint"]) and "TEAE: CTCAE grade >= 3" not in set(overview["endpoint"])
    terms = teae_by_term(adsl, adae, codes)
    stats = set(terms["statistic"])
    assert {"n_subjects_max_severity_1", "n_subjects_max_severity_3"} <= stats
    assert not any(s.startswith("n_subjects_max_grade_") for s in stats)
    # with grades nothing changes: no ASEV columns, the CTCAE categories
    t = cut_tables()
    graded = derive_adae(adsl_of(t, ARMS), t["ae"], ["RELATED"], 190)
    assert "ASEV" not in graded.columns
    assert "TEAE: CTCAE grade >= 3" in set(teae_overview(adsl_of(t, ARMS), graded, codes)["endpoint"])
