"""Published-vs-reproduced comparison: criteria, tolerances and the not-available path."""

from __future__ import annotations

import pandas as pd
import pytest
from test_stats_adam import ARMS, ARMS_CFG, toy_study

from fcrnpipe.stats import (
    PUBLISHED_COLUMNS,
    ae_part,
    disposition_part,
    edss_endpoints,
    gather_endpoints,
    lab_part,
    pd_part,
    published_vs_reproduced,
)
from fcrnpipe.stats.descriptive import frame, row

DOSING_DAYS = [1, 8, 15, 22]


def _by_finding(df: pd.DataFrame) -> dict[str, pd.Series]:
    return {r["finding"]: r for _, r in df.iterrows()}


def _edss_paper_n7() -> pd.DataFrame:
    """science.md n = 7 example: 4.00 ± 1.04 -> 2.71 ± 1.32, change -1.29 ± 0.49, all improved."""
    base = [3.0, 3.0, 3.5, 4.0, 4.0, 4.5, 6.0]
    chg = [-1.0, -1.0, -2.0, -1.5, -1.5, -1.5, -0.5]
    rows = []
    for i, (b, c) in enumerate(zip(base, chg)):
        s = f"S{i}"
        rows.append(
            {
                "USUBJID": s,
                "AVISIT": "DAY 1",
                "AVISITN": 0.0,
                "AVAL": b,
                "BASE": b,
                "CHG": 0.0,
                "ABLFL": "Y",
                "ANL01FL": "Y",
                "CRIT1FL": "",
            }
        )
        rows.append(
            {
                "USUBJID": s,
                "AVISIT": "WEEK 4",
                "AVISITN": 4.0,
                "AVAL": b + c,
                "BASE": b,
                "CHG": c,
                "ABLFL": "",
                "ANL01FL": "Y",
                "CRIT1FL": "Y",
            }
        )
    adedss = pd.DataFrame(rows)
    adsl = pd.DataFrame(
        {"USUBJID": [f"S{i}" for i in range(7)], "ARMCD": ["BATO340"] * 2 + ["BATO680"] * 5, "SAFFL": "Y"}
    )
    return edss_endpoints(adsl, adedss, ARMS, 4)


def _paper_like_rest() -> pd.DataFrame:
    """Hand-made endpoint rows matching every other published finding."""
    m = "hand-made"
    rows = [
        row("Disposition: enrolled", "All enrolled", "BATO340", "", 2, "n_subjects", 2, m),
        row("Disposition: enrolled", "All enrolled", "BATO680", "", 7, "n_subjects", 7, m),
        row("IGG: percent change from baseline", "PD", "BATO680", "WEEK 1", 7, "mean", -51.0, m),
        row("IGG: percent change from baseline", "PD", "BATO680", "WEEK 2", 6, "mean", -66.0, m),
        row("IGG: percent change from baseline", "PD", "BATO680", "WEEK 3", 6, "mean", -79.0, m),
        row("IGG: percent change from baseline", "PD", "BATO680", "WEEK 4", 6, "mean", -78.5, m),
        row("IGG: percent change from baseline", "PD", "BATO680", "WEEK 12", 6, "mean", -20.0, m),
        row("IGG: percent of baseline at follow-up", "PD", "BATO680", "WEEK 12", 6, "mean", 80.0, m),
        row("AQP4AB: undetectable", "PD", "Overall", "WEEK 3", 7, "n_subjects", 6, m),
        row(
            "Disposition: discontinued treatment: WITHDRAWAL BY SUBJECT",
            "All enrolled",
            "Overall",
            "",
            9,
            "n_subjects_after_dose_1",
            1,
            m,
        ),
        row(
            "TEAE leading to discontinuation by SOC and PT: Metabolism and nutrition disorders / Hypoalbuminaemia",
            "Safety",
            "Overall",
            "",
            9,
            "n_subjects",
            2,
            m,
        ),
        row("TEAE: leading to death", "Safety", "Overall", "", 9, "n_subjects", 0, m),
        row("TEAE: serious", "Safety", "Overall", "", 9, "n_subjects", 0, m),
        row("CHOL: percent change from baseline", "Safety", "Overall", "WEEK 4", 7, "mean", 25.0, m),
    ]
    return frame(rows)


def test_paper_like_endpoints_reproduce_every_finding(config):
    endpoints = gather_endpoints([_edss_paper_n7(), _paper_like_rest()], ARMS, config["visits"])
    out = published_vs_reproduced(endpoints, ARMS_CFG, config["visits"], DOSING_DAYS, 4, 12)
    assert list(out.columns) == PUBLISHED_COLUMNS
    failing = out.loc[~out["holds"], "finding"].tolist()
    assert failing == []
    f = _by_finding(out)
    assert f["EDSS at baseline (mean ± SD)"]["reproduced"] == "4.00 ± 1.04 (n = 7)"
    assert f["EDSS at WEEK 4 (mean ± SD)"]["reproduced"] == "2.71 ± 1.32 (n = 7)"
    assert f["EDSS change from baseline to WEEK 4 (mean ± SD)"]["reproduced"] == "-1.29 ± 0.49 (n = 7)"
    assert f["EDSS change to WEEK 4: Wilcoxon signed-rank p-value"]["reproduced"].startswith("p = 0.01562")
    assert f["Maximum mean IgG reduction at the last dose (day 22, 680 mg)"]["holds"]
    assert set(out["source"]) >= {"abstract", "news summary", "assumption", "derived"}


def test_criteria_fail_just_outside_the_tolerances(config):
    rest = _paper_like_rest()
    rest.loc[rest["visit"] == "WEEK 4", "estimate"] = [-80.5, 41.0]  # week 4 1.5 points deeper; chol +41%
    edss = _edss_paper_n7()
    # baseline mean off by 0.16 (> 0.15)
    m = (edss["statistic"] == "baseline_mean") & (edss["arm"] == "Overall")
    edss.loc[m, "estimate"] = 4.16
    endpoints = gather_endpoints([edss, rest], ARMS, config["visits"])
    f = _by_finding(published_vs_reproduced(endpoints, ARMS_CFG, config["visits"], DOSING_DAYS))
    assert not f["EDSS at baseline (mean ± SD)"]["holds"]
    assert not f["Maximum mean IgG reduction at the last dose (day 22, 680 mg)"]["holds"]
    assert (
        "largest mean reduction at WEEK 4 (80.5%); WEEK 3: 79.0%"
        == f["Maximum mean IgG reduction at the last dose (day 22, 680 mg)"]["reproduced"]
    )
    assert not f["Moderate rise in total cholesterol (WEEK 4)"]["holds"]
    assert f["EDSS at WEEK 4 (mean ± SD)"]["holds"]


def test_toy_study_findings(config):
    t = toy_study()
    grading = {"hypoalbuminaemia": "ALB", "hypercholesterolaemia": "CHOL"}
    parts = [
        ae_part(t["adsl"], t["adae"], ARMS),
        lab_part(t["adsl"], t["adlb"], ARMS, grading),
        disposition_part(t["adsl"], t["adex"], ARMS, "BATOCLIMAB"),
        pd_part(t["adsl"], t["adlb"], ARMS),
        edss_endpoints(t["adsl"], t["adedss"], ARMS, 4),
    ]
    endpoints = gather_endpoints(parts, ARMS, config["visits"])
    out = published_vs_reproduced(endpoints, ARMS_CFG, config["visits"], DOSING_DAYS)
    f = _by_finding(out)
    holds = {k: bool(v["holds"]) for k, v in f.items()}
    assert holds == {
        "Subjects enrolled by dose group": False,  # 2 and 4
        "Mean total IgG reduction at week 1 (680 mg)": True,  # 56.7%
        "Mean total IgG reduction at week 3 (680 mg)": True,  # 77.5%
        "Maximum mean IgG reduction at the last dose (day 22, 680 mg)": True,
        "Total IgG 9 weeks after the last dose (WEEK 12, 680 mg)": True,  # 82.5%
        "AQP4-IgG undetectable at WEEK 3": False,  # 3 of 4
        "EDSS at baseline (mean ± SD)": False,  # 4.50
        "EDSS at WEEK 4 (mean ± SD)": False,  # 3.38
        "EDSS change from baseline to WEEK 4 (mean ± SD)": False,  # -1.125: 0.175 from -1.3
        "EDSS change to WEEK 4: Wilcoxon signed-rank p-value": False,  # 0.125 (n = 4)
        "Voluntary withdrawal after the first dose": True,
        "Treatment discontinuations for hypoalbuminaemia": False,  # 1
        "Deaths": True,
        "Serious adverse events": True,
        "Moderate rise in total cholesterol (WEEK 4)": False,  # no week-4 cholesterol in the toy
    }
    assert f["AQP4-IgG undetectable at WEEK 3"]["reproduced"] == "3 of 4 evaluated"
    assert f["Mean total IgG reduction at week 1 (680 mg)"]["reproduced"] == "56.7% reduction (n = 3)"
    assert f["Moderate rise in total cholesterol (WEEK 4)"]["reproduced"] == "not available"
    assert f["Treatment discontinuations for hypoalbuminaemia"]["reproduced"] == "1 subject(s)"


def test_published_with_empty_endpoints(config):
    out = published_vs_reproduced(frame([]), ARMS_CFG, config["visits"], DOSING_DAYS)
    assert len(out) == 15
    # nothing can be reproduced, except the zero counts that an empty table trivially has not
    assert not out["holds"].any()
    assert (out["reproduced"].str.contains("not available")).sum() >= 8


@pytest.mark.parametrize("dose, expected", [(680, "BATO680"), (600, "BATO680")])
def test_high_dose_arm_selection(dose, expected):
    from fcrnpipe.stats.published import _high_dose_arm

    arms = [{"armcd": "BATO340", "dose_mg": 340}, {"armcd": "BATO680", "dose_mg": dose}]
    assert _high_dose_arm(arms)["armcd"] == expected


def test_nadir_one_point_deeper_after_the_last_dose_still_counts_as_at_the_last_dose(config):
    rest = _paper_like_rest()
    rest.loc[rest["visit"] == "WEEK 4", "estimate"] = [-79.9, 30.0]  # 0.9 points deeper than week 3
    endpoints = gather_endpoints([_edss_paper_n7(), rest], ARMS, config["visits"])
    f = _by_finding(published_vs_reproduced(endpoints, ARMS_CFG, config["visits"], DOSING_DAYS))
    assert f["Maximum mean IgG reduction at the last dose (day 22, 680 mg)"]["holds"]
