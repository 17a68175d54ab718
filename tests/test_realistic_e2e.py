"""End to end on a small realistic simulated cut (issue #9): a placebo arm, screen failures, DS
milestones, other lab panels (incl. categorical urinalysis), blood pressure by position and time
point, a second questionnaire, AESEV instead of AETOXGR, CDISC unit spellings and BRTHDTC.

Validation passes with notices for the records the analysis does not use; the pipeline runs to
the report; the placebo arm is in the safety and PD outputs but not in PK/NCA or the PK/PD model;
the screen failures are counted in the disposition table and are in no analysis set; BRTHDTC is
written nowhere. The run uses the fast test config with a lighter PK/PD layer (one PK candidate,
no bootstrap) so that it costs about as much as the validation e2e tests. It is the session
fixture ``realistic_run`` (tests/conftest.py, tests/pipeline.py: RealisticRun), started in the
background when collection ends.
"""

from __future__ import annotations

import pandas as pd
import pytest

pytestmark = pytest.mark.e2e


def test_validation_passes_with_notices_for_the_unused_records(realistic_run):
    res = realistic_run["results"]
    f = pd.read_csv(res / "validation" / "failures.csv", dtype=str, keep_default_na=False)
    assert list(f.columns) == ["file", "row", "column", "check", "severity", "value", "message"]
    assert "error" not in set(f["severity"]), f[f["severity"] == "error"].head().to_string()
    notices = set(zip(f.loc[f["severity"] == "notice", "file"], f.loc[f["severity"] == "notice", "check"]))
    assert {("lb.csv", "set_aside"), ("vs.csv", "set_aside"), ("qs.csv", "set_aside"), ("ds.csv", "set_aside"),
            ("dm.csv", "not_assigned"), ("dm.csv", "identifier_dropped"), ("ae.csv", "severity_scale")} <= notices  # fmt: skip
    aside = set(f.loc[f["check"] == "set_aside", "value"])
    assert {"COLOR", "HGB", "SYSBP", "MSQOL01", "RANDOMIZED", "INFORMED CONSENT OBTAINED", "CREAT"} <= aside
    html = (res / "validation" / "report.html").read_text(encoding="utf-8")
    assert "PASS" in html and "Summary of findings" in html
    lb = pd.read_parquet(res / "validation" / "lb.parquet")
    assert "HGB" not in set(lb["LBTESTCD"]) and "titer" in set(lb["LBORRESU"])  # set aside; CDISC spelling kept


def test_pipeline_runs_to_the_report(realistic_run):
    res = realistic_run["results"]
    for rel in ("stats/endpoints.csv", "tables/disposition.html", "figures/igg_pct_baseline.png",
                "pkpd/population_parameters.csv", "provenance/manifest.csv"):  # fmt: skip
        assert (res / rel).is_file(), rel
    assert (res / "report.html").stat().st_size > 100_000


def test_placebo_arm_in_safety_and_pd_not_in_pk(realistic_run):
    res, cut = realistic_run["results"], realistic_run["cut"]
    adsl = pd.read_parquet(res / "adam" / "adsl.parquet")
    pbo = adsl[adsl["ARMCD"] == "PBO"]
    assert len(pbo) == cut.n_placebo >= 1
    assert set(pbo["SAFFL"]) == {"Y"} and set(pbo["PKFL"]) == {"N"} and set(pbo["TRT01A"]) == {"Placebo"}
    assert (pbo["CUMDOSE"] == 0).all() and pbo["TRTSDT"].notna().all() and (pbo["NDOSE"] > 0).all()
    assert "Y" in set(pbo["PDFL"])
    demo = pd.read_csv(res / "tables" / "demographics.csv")
    assert "PBO" in demo.columns
    teae = pd.read_csv(res / "tables" / "teae_overview.csv")
    assert "PBO" in teae.columns and "Severe TEAE (AESEV)" in set(teae["label"])
    pd_fig = (res / "figures" / "igg_pct_baseline.svg").read_text(encoding="utf-8")
    assert "Placebo" in pd_fig
    nca = pd.read_csv(res / "pk" / "nca.csv")
    assert not set(nca["USUBJID"]) & set(pbo["USUBJID"])
    ids = pd.read_csv(res / "pkpd" / "nm_id_map.csv")
    assert not set(ids["USUBJID"]) & set(pbo["USUBJID"]) and len(ids) == cut.n_active
    assert "Placebo" not in (res / "figures" / "pk_conc_time.svg").read_text(encoding="utf-8")


def test_screen_failures_leave_the_analysis_sets_and_are_counted(realistic_run):
    res, cut = realistic_run["results"], realistic_run["cut"]
    adsl = pd.read_parquet(res / "adam" / "adsl.parquet")
    sf = adsl[adsl["ARMCD"] == "SCRNFAIL"]
    assert len(sf) == cut.n_screen_failures
    assert set(sf[["SAFFL", "PKFL", "PDFL"]].to_numpy().ravel()) == {"N"} and set(sf["TRT01P"]) == {"Screen Failure"}
    disp = pd.read_csv(res / "tables" / "disposition.csv")
    screened = disp[disp["label"] == "Screened"]
    assert int(screened["Overall"].iloc[0]) == len(adsl)
    row = disp[(disp["label"] == "Screen failure") & (disp["statistic"] == "n_subjects")]
    assert int(row["Overall"].iloc[0]) == cut.n_screen_failures
    enrolled = disp[(disp["label"] == "Enrolled") & (disp["statistic"] == "n_subjects")]
    assert int(enrolled["Overall"].iloc[0]) == cut.n_active + cut.n_placebo
    ep = pd.read_csv(res / "stats" / "endpoints.csv")
    assert "Disposition: not assigned to an arm: SCREEN FAILURE" in set(ep["endpoint"])


def test_brthdtc_is_written_nowhere(realistic_run):
    res, raw = realistic_run["results"], realistic_run["raw"]
    births = set(pd.read_csv(raw / "dm.csv", dtype=str, keep_default_na=False)["BRTHDTC"]) - {""}
    for path in res.rglob("*"):
        if path.suffix in (".csv", ".html", ".json", ".svg"):
            content = path.read_text(encoding="utf-8", errors="replace")
            # the variable's name only in the findings (its notice) and the reports that show them
            assert "BRTHDTC" not in content or path.name.endswith(("failures.csv", "report.html")), path
            assert not any(b in content for b in births if len(b) >= 7), path
        if path.suffix == ".parquet":
            assert "BRTHDTC" not in pd.read_parquet(path).columns, path
