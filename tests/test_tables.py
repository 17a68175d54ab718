"""CSR tables: builders on the hand-made ADaM study, formatting, HTML rendering, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_stats_adam import ARMS_CFG, toy_study

from fcrnpipe.errors import UserError
from fcrnpipe.stats import published_vs_reproduced
from fcrnpipe.stats.descriptive import frame
from fcrnpipe.tables import (
    albumin_table,
    aqp4_table,
    cholesterol_table,
    demographics_table,
    disposition_table,
    edss_table,
    exposure_table,
    igg_table,
    lab_decimals,
    lab_shift_table,
    nca_summary_table,
    pkpd_parameters_table,
    published_table,
    render_html,
    teae_overview_table,
    teae_soc_pt_table,
    write_outputs,
)
from fcrnpipe.tables import format as F

GRADING = {"hypoalbuminaemia": "ALB", "hypercholesterolaemia": "CHOL"}
IMPROVEMENT = {"cut": 5.5, "large": 1.0, "small": 0.5}
CUT = "toy cut <1>"


@pytest.fixture(scope="module")
def toy():
    return toy_study()


def cell(table, label, stat, column, section=None):
    """The display cell of the first row with ``label`` (or continuing it) and ``stat``."""
    current_section, current_label = None, None
    for r in table.rows:
        if r.section:
            current_section, current_label = r.label, None
            continue
        current_label = r.label or current_label
        if current_label == label and r.stat == stat and (section is None or current_section == section):
            return r.cells[column]
    raise KeyError((label, stat, column, section))


def headers(table):
    return {c.key: (c.label, c.n) for c in table.columns}


# -------------------------------------------------------------------------------- format
def test_rounding_half_away_from_zero_and_formats():
    assert F.rnd(2.25, 1) == "2.3" and F.rnd(-2.25, 1) == "-2.3" and F.rnd(0.125, 2) == "0.13"
    assert F.rnd(-0.04, 1) == "0.0" and F.rnd(float("nan"), 1) == "NE" and F.rnd(7, 0) == "7"
    assert F.sig(1234.5) == "1235" and F.sig(0.012345) == "0.0123" and F.sig(12.345) == "12.3" and F.sig(0) == "0"
    assert F.n_pct({"n_subjects": 0, "percent": 0.0}) == "0"
    assert F.n_pct({"n_subjects": 6, "percent": 600 / 7}) == "6 (85.7)"
    assert F.n_of_n_pct({"n_subjects": 6, "n": 7, "percent": 600 / 7}) == "6/7 (85.7)"
    assert F.mean_sd({"mean": 4.0, "sd": 1.04}, 2) == "4.00 (1.04)"
    assert F.mean_sd({"mean": 4.0, "sd": float("nan")}, 1) == "4.0 (NE)"
    assert F.p_value(0.015625) == "0.0156" and F.p_value(1e-6) == "<0.0001" and F.p_value(None) == "NE"
    assert F.visit_label("WEEK 12") == "Week 12" and F.sentence("WITHDRAWAL BY SUBJECT") == "Withdrawal by subject"


def test_interval_notation_and_achieved_level_cells():
    hl = {"hl": -0.75, "hl_ci_low": -1.5, "hl_ci_high": 0.0, "hl_ci_bounds": "[)", "hl_ci_level": 0.953125}
    assert F.est_ci_bounds(hl, 2, "hl") == "-0.75 [-1.50, 0.00)"  # 0 excluded: the test rejects at 0
    assert F.ci_level(hl, "hl", 0.95) == "95.3%"
    none = {"hl": -1.75, "hl_ci_low": float("nan"), "hl_ci_high": float("nan"), "hl_ci_bounds": "", "hl_ci_level": 0.5}
    assert F.est_ci_bounds(none, 2, "hl") == "-1.75 (no CI)"
    assert F.ci_level(none, "hl", 0.95) == "95% not attainable (max 50.0%)"
    assert F.est_ci_bounds({"hl": float("nan")}, 2, "hl") == "NE" and F.ci_level({}, "hl", 0.95) == "NE"


# ------------------------------------------------------------------------------ builders
def test_demographics(toy):
    t = demographics_table(toy["adsl"], ARMS_CFG, data_cut=CUT)
    assert headers(t) == {
        "BATO340": ("Batoclimab 340 mg", 2),
        "BATO680": ("Batoclimab 680 mg", 3),
        "Overall": ("Overall", 5),
    }
    assert cell(t, "Age (years)", "Mean (SD)", "BATO680") == "43.3 (7.6)"  # 50, 35, 45 (006 not SAFFL)
    assert cell(t, "Age (years)", "Min, Max", "Overall") == "30, 50"
    assert cell(t, "Female", "n (%)", "BATO680") == "2 (66.7)"
    assert cell(t, "Male", "n (%)", "BATO340") == "0"
    assert cell(t, "Myelitis", "n (%)", "Overall") == "3 (60.0)"
    assert cell(t, "Optic neuritis", "n (%)", "BATO340") == "1 (50.0)"
    assert cell(t, "Total IgG (g/L)", "Mean (SD)", "Overall") == "10.200 (1.483)"  # data with 2 decimals
    assert cell(t, "EDSS", "Median", "Overall") == "4.00"
    d = t.data.set_index(["section", "label", "statistic"])
    assert d.loc[("Age (years)", "Age (years)", "mean"), "BATO680"] == pytest.approx(130 / 3)  # unrounded
    assert d.loc[("Sex, n (%)", "Female", "n_subjects"), "Overall"] == 4


def test_disposition_and_exposure_tables(toy):
    t = disposition_table(toy["adsl"], toy["adex"], ARMS_CFG, "BATOCLIMAB")
    assert headers(t)["BATO680"] == ("Batoclimab 680 mg", 4) and headers(t)["Overall"][1] == 6
    assert cell(t, "Enrolled", "n", "Overall") == "6"
    assert cell(t, "Treated (at least one dose)", "n (%)", "Overall") == "5 (83.3)"
    assert cell(t, "Withdrawal by subject", "n (%)", "BATO680", "Study treatment") == "1 (25.0)"
    assert cell(t, "Withdrawal by subject: after dose 1", "n", "Overall", "Study treatment") == "1"
    assert cell(t, "Physician decision: before the first dose", "n", "Overall", "Study study") == "1"
    e = exposure_table(toy["adsl"], toy["adex"], ARMS_CFG, "BATOCLIMAB")
    assert cell(e, "Doses", "Mean (SD)", "Overall") == "3.0 (1.4)"
    assert cell(e, "4 doses", "n (%)", "Overall") == "3 (60.0)"
    assert cell(e, "Cumulative dose (mg)", "Median", "BATO680") == "1360.0"


def test_teae_tables(toy):
    t = teae_overview_table(toy["adsl"], toy["adae"], ARMS_CFG)
    assert cell(t, "Any TEAE", "n (%)", "Overall") == "4 (80.0)"
    assert cell(t, "Any TEAE", "95% CI (%)", "Overall") == "(28.4, 99.5)"
    assert cell(t, "Any TEAE", "Events", "Overall") == "6"
    assert cell(t, "TEAE of CTCAE grade ≥ 3", "n (%)", "BATO340") == "0"
    assert cell(t, "Serious TEAE", "n (%)", "Overall") == "0"
    s = teae_soc_pt_table(toy["adsl"], toy["adae"], ARMS_CFG)
    labels = [r.label for r in s.rows]
    # SOCs by decreasing overall frequency (2, 2, 1), ties alphabetical; PTs within SOC likewise
    assert labels == [
        "Subjects with at least one TEAE",
        "Metabolism and nutrition disorders",
        "Hypercholesterolaemia",
        "Hypoalbuminaemia",
        "Nervous system disorders",
        "Headache",
        "General disorders and administration site conditions",
        "Injection site reaction",
    ]
    assert [g for g, _, _ in s.groups] == ["Batoclimab 340 mg", "Batoclimab 680 mg", "Overall"]
    assert cell(s, "Headache", "n (%)", "BATO340|all") == "1 (50.0)"
    assert cell(s, "Headache", "n (%)", "BATO340|ge3") == "0"  # max grade 2
    assert cell(s, "Headache", "n (%)", "Overall|ge3") == "1 (20.0)"
    row = s.data[(s.data["pt"] == "Headache") & (s.data["arm"] == "Overall")].iloc[0]
    assert (row["n_subjects"], row["n_events"], row["n_subjects_max_grade_2"], row["n_subjects_max_grade_3"]) == (
        2,
        3,
        1,
        1,
    )


def test_lab_shift_table(toy):
    t = lab_shift_table(toy["adsl"], toy["adlb"], ARMS_CFG, GRADING, {"ALB": 3, "CHOL": 4})
    sec = "Hypoalbuminaemia (ALB)"
    row0 = [cell(t, "Baseline grade 0", "n", f"Overall|{g}", sec) for g in (0, 1, 2, 3, 4, "Total")]
    assert row0 == ["2", "1", "1", "0", "0", "4"]
    assert cell(t, "Baseline grade 1", "n", "BATO680|1", sec) == "1"
    assert cell(t, "Total (evaluable)", "n", "Overall|Total", sec) == "5"
    assert [g[0] for g in t.groups] == ["Batoclimab 340 mg", "Batoclimab 680 mg", "Overall"]
    with pytest.raises(UserError, match="none of the graded parameters"):
        lab_shift_table(toy["adsl"], toy["adlb"], ARMS_CFG, {"x": "TRIG"})


def test_pd_and_lab_visit_tables(toy):
    t = igg_table(toy["adsl"], toy["adlb"], ARMS_CFG)
    pchg = "Total IgG: percent change from baseline (%)"
    assert cell(t, "Week 1", "Mean (SD)", "BATO680", pchg) == "-56.7 (5.8)"
    assert cell(t, "Week 1", "95% CI of the mean", "BATO680", pchg) == "(-71.0, -42.3)"
    assert cell(t, "Week 3", "Min, Max", "Overall", pchg) == "-80, -60"
    assert cell(t, "Baseline", "Mean (SD)", "Overall", "Total IgG (g/L)") == "10.200 (1.483)"
    assert cell(t, "% of baseline", "Median", "BATO680", "Total IgG: nadir (each subject's lowest value)") == "25.0"
    assert (
        cell(t, "% of baseline", "Mean (SD)", "BATO680", "Total IgG: % of baseline at follow-up (Week 12)")
        == "82.5 (3.5)"
    )
    assert headers(t)["Overall"] == ("Overall", 5)
    a = albumin_table(toy["adsl"], toy["adlb"], ARMS_CFG, decimals={"ALB": 1})
    assert cell(a, "Week 3", "Mean (SD)", "BATO680", "Albumin: change from baseline (g/L)") == "-9.00 (1.41)"
    c = cholesterol_table(toy["adsl"], toy["adlb"], ARMS_CFG)
    assert cell(c, "Week 1", "Median", "Overall", "Total cholesterol: percent change from baseline (%)") == "10.0"
    q = aqp4_table(toy["adsl"], toy["adlb"], ARMS_CFG)
    assert cell(q, "Week 3", "n/N (%)", "Overall", "Undetectable AQP4-IgG (below the lowest dilution)") == "3/4 (75.0)"
    assert cell(q, "Baseline", "Geometric mean", "Overall") == "80.0"
    assert cell(q, "Became undetectable", "n/N (%)", "Overall") == "3/5 (60.0)"
    e = edss_table(toy["adsl"], toy["adedss"], ARMS_CFG, 4, IMPROVEMENT)
    sec = "Paired analysis: baseline to Week 4 (subjects with both)"
    # n = 4: no 95% interval can exist (smallest exact p 0.125): say so instead of printing the 87.5% range
    assert cell(e, "Change", "Hodges-Lehmann (95% CI)", "Overall", sec) == "-1.13 (no CI)"
    assert cell(e, "Change", "Achieved CI level", "Overall", sec) == "95% not attainable (max 87.5%)"
    assert cell(e, "Change", "Wilcoxon signed-rank p", "Overall", sec) == "0.1250"
    assert cell(e, "Baseline", "Mean (SD)", "Overall", sec) == "4.50 (1.29)"
    assert cell(e, "Week 12", "n/N (%)", "Overall", "Improved (CRIT1FL = Y)") == "3/4 (75.0)"


def test_lab_decimals_from_unit_table(root):
    dec = lab_decimals(pd.read_csv(root / "resources" / "units.csv"))
    assert dec["IGG"] == 2 and dec["ALB"] == 1 and dec["CHOL"] == 2 and dec["AQP4AB"] == 0


def test_nca_summary_table(toy):
    summary = pd.DataFrame(
        [
            ["BATO340", "first dose", "Cmax", "mg/L", 2, 123.456, 25.04, 125.0, 20.0, 125.0, 110.9, 139.1],
            ["BATO680", "first dose", "Cmax", "mg/L", 3, 300.0, 10.0, 301.0, 30.0, 299.0, 270.0, 334.0],
            ["BATO340", "first dose", "Tmax", "h", 2, np.nan, np.nan, np.nan, np.nan, 72.0, 48.0, 96.0],
            ["BATO680", "first dose", "Tmax", "h", 3, np.nan, np.nan, np.nan, np.nan, 96.0, 72.0, 96.0],
        ],
        columns=[
            "ARMCD",
            "interval",
            "parameter",
            "unit",
            "n",
            "geomean",
            "geocv_pct",
            "mean",
            "sd",
            "median",
            "min",
            "max",
        ],
    )
    t = nca_summary_table(summary, ARMS_CFG, toy["adsl"])
    assert headers(t) == {"BATO340": ("Batoclimab 340 mg", 2), "BATO680": ("Batoclimab 680 mg", 3)}
    assert cell(t, "Cmax (mg/L)", "Geometric mean (CV%)", "BATO340") == "123 (25.0)"
    assert cell(t, "Cmax (mg/L)", "Min, Max", "BATO340") == "111, 139"
    assert cell(t, "Tmax (h)", "Median", "BATO680") == "96.0"
    with pytest.raises(KeyError):
        cell(t, "Tmax (h)", "Geometric mean (CV%)", "BATO680")  # median and range only
    assert list(t.data["parameter"]) == ["Cmax", "Cmax", "Tmax", "Tmax"]
    with pytest.raises(UserError, match="nca_summary"):
        nca_summary_table(summary.drop(columns="geomean"), ARMS_CFG)
    # counts of values missing from the statistics, and the footnotes saying why (issue 10)
    nan = np.nan
    counted = pd.concat(
        [
            summary.assign(n_missing=0, n_flagged=0),
            pd.DataFrame(
                [
                    ["BATO340", "first dose", "t_half", "h", 1, 20.0, nan, 20.0, nan, 20.0, 20.0, 20.0, 1, 0,
                     "not estimable: lambda_z not estimable: 2 positive concentrations (1)"],
                    ["BATO680", "first dose", "t_half", "h", 0, nan, nan, nan, nan, nan, nan, nan, 2, 1,
                     "not estimable: lambda_z not estimable: 2 positive concentrations (2); "
                     "excluded: lambda_z_span < 2 (1)"],
                ],
                columns=list(summary.columns) + ["n_missing", "n_flagged", "notes"],
            ),
        ],
        ignore_index=True,
    )  # fmt: skip
    # the footnote's counts: 1 + 2 not estimable, 1 excluded, of 2 + 3 profiles (n + missing + excluded)
    t = nca_summary_table(counted, ARMS_CFG, toy["adsl"], acceptance="rules in words")
    assert cell(t, "t_half (h)", "Not estimable (n)", "BATO680") == "2"
    assert cell(t, "t_half (h)", "Excluded (n)", "BATO340") == "0"
    with pytest.raises(KeyError):
        cell(t, "Cmax (mg/L)", "Not estimable (n)", "BATO340")  # nothing missing: no row
    assert (
        "first dose, t_half: not estimable in 3 of 5 profiles: lambda_z not estimable: 2 positive concentrations; "
        "excluded in 1 of 5 profiles: lambda_z_span < 2." in t.footnotes
    )
    assert any("Acceptance: rules in words." in f for f in t.footnotes)


def test_pkpd_parameters_table():
    params = pd.DataFrame(
        [
            ["omega_CL", 0.09, 0.02, 22.22, 0.05, 0.13, "", "iiv"],
            ["CL", 0.2034, 0.0101, 4.9655, 0.1836, 0.2232, "L/day", "fixed"],
            ["sigma_prop", 0.123, 0.01, 8.1, 0.1034, 0.1426, "", "residual"],
        ],
        columns=["parameter", "estimate", "se", "rse_pct", "ci_low", "ci_high", "unit", "kind"],
    )
    t = pkpd_parameters_table(params, data_cut=CUT)
    assert [r.label for r in t.rows] == [
        "Fixed effects (typical values)",
        "CL",
        "Inter-individual variability",
        "omega_CL",
        "Residual error",
        "sigma_prop",
    ]
    assert cell(t, "CL", "", "estimate") == "0.203" and cell(t, "CL", "", "rse_pct") == "5.0"
    assert cell(t, "CL", "", "ci") == "(0.184, 0.223)"
    assert t.data.loc[0, "estimate"] == 0.09  # unrounded, input order


#: As the pipeline's pkpd/population_parameters.csv: part/model columns and bootstrap CIs.
PKPD_PARAMETERS = pd.DataFrame(
    [
        ["CL", 0.3435, 0.0738, 21.48, 0.2255, 0.5234, "L/day", "fixed", "PK", "sc1cmt_mm", 0.2364, 0.4515, 8],
        ["Km", 1.0, None, None, None, None, "mg/L", "fixed", "PK", "sc1cmt_mm", None, None, 8],
        ["EC50", 4.2625, 1.4982, 35.15, 2.1403, 8.4890, "mg/L", "fixed", "PD", "igg_turnover", 2.9454, 7.6430, 8],
    ],
    columns=["parameter", "estimate", "se", "rse_pct", "ci_low", "ci_high", "unit", "kind", "part", "model",
             "boot_ci_low", "boot_ci_high", "boot_n_ok"],
)


def test_pkpd_parameters_table_parts_and_bootstrap():
    """The pipeline's file has part/model columns and bootstrap CIs: sections per part, a CI column."""
    params = PKPD_PARAMETERS
    t = pkpd_parameters_table(params, data_cut=CUT)
    assert [r.label for r in t.rows] == [
        "PK model (sc1cmt_mm): Fixed effects (typical values)",
        "CL",
        "Km",
        "PD model (igg_turnover): Fixed effects (typical values)",
        "EC50",
    ]
    assert cell(t, "CL", "", "boot_ci") == "(0.236, 0.452)"  # half away from zero
    assert cell(t, "EC50", "", "ci") == "(2.14, 8.49)"
    assert cell(t, "Km", "", "ci") == "NE" and cell(t, "Km", "", "boot_ci") == "NE"
    assert any("8 successful replicates" in f for f in t.footnotes)
    assert list(t.data.columns)[-5:] == ["boot_ci_low", "boot_ci_high", "boot_n_ok", "part", "model"]


def test_published_table(config):
    pub = published_vs_reproduced(frame([]), ARMS_CFG, config["visits"], [1, 8, 15, 22])
    pub.loc[0, "holds"] = True
    t = published_table(pub, data_cut=CUT)
    assert cell(t, "Subjects enrolled by dose group", "", "holds") == "Yes"
    assert cell(t, "Deaths", "", "holds") == "No"
    assert t.footnotes[0] == f"1 of {len(pub)} findings hold."
    assert list(t.data.columns) == ["finding", "source", "published", "reproduced", "criterion", "holds", "value",
                                    "endpoint", "population", "arm", "visit", "statistic", "component"]  # fmt: skip
    # without numbers: one row per finding, no value, nothing traced
    assert len(t.data) == len(pub) and t.data["value"].isna().all() and t.trace.empty


# ----------------------------------------------------------------------------- rendering
def test_html_is_complete_escaped_self_contained_and_deterministic(toy, tmp_path):
    t = teae_overview_table(toy["adsl"], toy["adae"], ARMS_CFG, data_cut=CUT)
    html = render_html(t)
    assert "<h1>Overview of treatment-emergent adverse events</h1>" in html
    assert "Safety population (SAFFL = Y" in html
    assert "Batoclimab 680 mg<br>(N = 3)" in html and "Overall<br>(N = 5)" in html
    assert "Clopper-Pearson exact" in html and "Abbreviations:" in html
    assert "Data cut: toy cut &lt;1&gt;" in html  # escaped
    for external in ("<script", "http://", "https://", "src=", "<link"):
        assert external not in html
    assert render_html(teae_overview_table(toy["adsl"], toy["adae"], ARMS_CFG, data_cut=CUT)) == html
    paths = []
    for i in (1, 2):
        csv, out = tmp_path / f"t{i}.csv", tmp_path / f"t{i}.html"
        write_outputs(t, csv, out)
        paths.append((csv.read_bytes(), out.read_bytes()))
    assert paths[0] == paths[1]
    assert b"\r\n" not in paths[0][1]
    assert paths[0][0].startswith(b"section,label,statistic,BATO340,BATO680,Overall\n")


def test_group_headers_render(toy):
    html = render_html(teae_soc_pt_table(toy["adsl"], toy["adae"], ARMS_CFG))
    assert '<th class="group" colspan="2">Batoclimab 340 mg<br>(N = 2)</th>' in html
    assert html.count("All grades") == 3


def test_nan_never_leaks_into_html(toy):
    html = render_html(edss_table(toy["adsl"], toy["adedss"], ARMS_CFG, 4, IMPROVEMENT))
    assert "nan" not in html.lower()


# --------------------------------------------------------------------------- rule scripts
def _run_script(root, name, tmp_path, inputs, outputs, params, wildcards=None):
    """Run scripts/<name>.py as Snakemake would, with a stand-in ``snakemake`` object."""
    import runpy
    from types import SimpleNamespace

    smk = SimpleNamespace(
        input=SimpleNamespace(**inputs),
        output=SimpleNamespace(**outputs),
        params=SimpleNamespace(**params),
        wildcards=SimpleNamespace(**(wildcards or {})),
        log=[str(tmp_path / f"{name}.log")],
        rule=name,
    )
    runpy.run_path(str(root / "scripts" / f"{name}.py"), init_globals={"snakemake": smk}, run_name="__main__")


def _run_part(root, part, tmp_path, inputs, output, params):
    """Run the generic stats script for ARD part ``part`` as rule ``stats_part`` would: the part's
    params under ``part``, arms and visits beside them (workflow/rules/stats.smk)."""
    shared = {k: params[k] for k in ("arms", "visits")}
    own = {k: v for k, v in params.items() if k not in shared}
    _run_script(root, "stats_part", tmp_path, inputs, {"part": output}, {**shared, "part": own}, wildcards={"part": part})


def _run_table(root, name, tmp_path, inputs, outputs, params):
    """Run the generic table script for table ``name`` as rule ``table`` would: the table's
    params under ``table``, the data cut beside them (workflow/rules/tables.smk)."""
    table = {k: v for k, v in params.items() if k != "data_cut"}
    _run_script(root, "table", tmp_path, inputs, outputs, {"table": table, "data_cut": params["data_cut"]},
                wildcards={"name": name})


def test_rule_scripts_on_the_toy_study(root, config, tmp_path, toy):
    """Every stats/table script runs with the inputs and params its rule passes (see the .smk files)."""
    from fcrnpipe.tableio import write_table

    adam = {}
    for k, df in toy.items():
        adam[k] = str(tmp_path / f"{k}.parquet")
        write_table(df, adam[k])
    res = root / "resources"
    arm_codes = [a["armcd"] for a in config["study"]["arms"]]
    arms = [{k: a[k] for k in ("armcd", "label", "dose_mg")} for a in config["study"]["arms"]]
    parts = {
        "ae": ({"adsl": adam["adsl"], "adae": adam["adae"]}, {}),
        "lab": (
            {"adsl": adam["adsl"], "adlb": adam["adlb"], "ctcae": str(res / "ctcae.csv")},
            {"grading": config["lab_grading"]},
        ),
        "disposition": (
            {"adsl": adam["adsl"], "adex": adam["adex"]},
            {"treatment": config["study"]["treatment"], "placebo": config["study"]["placebo"]},
        ),
        "pd": ({"adsl": adam["adsl"], "adlb": adam["adlb"]}, {}),
        "edss": (
            {"adsl": adam["adsl"], "adedss": adam["adedss"]},
            {"primary_visit": config["edss"]["primary_visit"], "improvement": config["edss"]["improvement"]},
        ),
    }
    (tmp_path / "parts").mkdir()
    for part, (inputs, extra) in parts.items():
        output = str(tmp_path / "parts" / f"{part}.csv")
        _run_part(root, part, tmp_path, inputs, output, {"arms": arm_codes, "visits": config["visits"], **extra})
    endpoints = str(tmp_path / "endpoints.csv")
    _run_script(
        root,
        "stats_endpoints",
        tmp_path,
        {"parts": [str(tmp_path / "parts" / f"{p}.csv") for p in parts]},
        {"endpoints": endpoints},
        {"arms": arm_codes, "visits": config["visits"]},
    )

    def ard(*parts_shown):  # the `ard` inputs of TABLES in workflow/rules/tables.smk
        return [str(tmp_path / "parts" / f"{p}.csv") for p in (*parts_shown, "disposition")]

    ep = pd.read_csv(endpoints, keep_default_na=False, na_values=[""])
    assert list(ep.columns) == [
        "endpoint",
        "population",
        "arm",
        "visit",
        "n",
        "statistic",
        "estimate",
        "ci_low",
        "ci_high",
        "ci_level",
        "ci_bounds",
        "p_value",
        "method",
    ]
    common = {
        "arms": arms,
        "overall_label": config["study"]["overall_label"],
        "data_cut": CUT,
        "treatment": config["study"]["treatment"],
    }
    lab_in = {"adsl": adam["adsl"], "adlb": adam["adlb"], "units": str(res / "units.csv"), "ard": ard("lab")}
    tables = {
        "demographics": ({"adsl": adam["adsl"], "ard": ard()}, {}),
        "disposition": ({"adsl": adam["adsl"], "adex": adam["adex"], "ard": ard()}, {"placebo": "PLACEBO"}),
        "exposure": ({"adsl": adam["adsl"], "adex": adam["adex"], "ard": ard()}, {"placebo": "PLACEBO"}),
        "teae_overview": ({"adsl": adam["adsl"], "adae": adam["adae"], "ard": ard("ae")}, {}),
        "teae_soc_pt": ({"adsl": adam["adsl"], "adae": adam["adae"], "ard": ard("ae")}, {}),
        "lab_shift": (
            {"adsl": adam["adsl"], "adlb": adam["adlb"], "ctcae": str(res / "ctcae.csv"), "ard": ard("lab")},
            {"grading": config["lab_grading"]},
        ),
        "albumin": (lab_in, {}),
        "cholesterol": (lab_in, {}),
        "igg": ({**lab_in, "ard": ard("pd")}, {}),
        "aqp4": ({"adsl": adam["adsl"], "adlb": adam["adlb"], "ard": ard("pd")}, {}),
        "edss": (
            {"adsl": adam["adsl"], "adedss": adam["adedss"], "ard": ard("edss")},
            {"primary_visit": 4, "improvement": config["edss"]["improvement"]},
        ),
    }
    for name, (inputs, extra) in tables.items():
        out = {"csv": str(tmp_path / f"{name}.csv"), "html": str(tmp_path / f"{name}.html")}
        _run_table(root, name, tmp_path, inputs, out, {**common, **extra})
        html = (tmp_path / f"{name}.html").read_text(encoding="utf-8")
        assert "Data cut: toy cut &lt;1&gt;" in html
        assert "dose of study drug" not in html, name  # the drug's name comes from config study.treatment
    pub = {"csv": str(tmp_path / "pub.csv"), "html": str(tmp_path / "pub.html")}
    _run_table(
        root,
        "published_vs_reproduced",
        tmp_path,
        {"endpoints": endpoints, "findings": str(res / "published_findings.yaml")},
        pub,
        {
            "arms": arms,
            "visits": config["visits"],
            "dosing_days": config["study"]["dosing_days"],
            "primary_visit": 4,
            "data_cut": CUT,
        },
    )
    published = pd.read_csv(pub["csv"], keep_default_na=False, na_values=[""])
    findings = published.drop_duplicates("finding").set_index("finding")  # one row per number shown
    assert findings.loc["Deaths", "holds"]
    assert findings.loc["AQP4-IgG undetectable at WEEK 3", "reproduced"] == "3 of 4 evaluated"
    aqp4 = published[published["finding"] == "AQP4-IgG undetectable at WEEK 3"]
    assert aqp4[["value", "component"]].values.tolist() == [[3.0, "estimate"], [4.0, "n"]]
    params_csv = tmp_path / "params.csv"
    pd.DataFrame(
        [["CL", 0.2, 0.01, 5.0, 0.18, 0.22, "L/day", "fixed"]],
        columns=["parameter", "estimate", "se", "rse_pct", "ci_low", "ci_high", "unit", "kind"],
    ).to_csv(params_csv, index=False)
    pkpd_part = str(tmp_path / "parts" / "pkpd.csv")
    _run_part(root, "pkpd", tmp_path, {"results": str(params_csv)}, pkpd_part, {"arms": arm_codes, "visits": config["visits"]})
    _run_table(
        root,
        "pkpd_parameters",
        tmp_path,
        {"parameters": str(params_csv), "ard": [pkpd_part]},
        {"csv": str(tmp_path / "pp.csv"), "html": str(tmp_path / "pp.html")},
        {"data_cut": CUT},
    )
    assert "0.200" in (tmp_path / "pp.html").read_text(encoding="utf-8")
    # the whole ARD: every part, the display-only ones included (rule stats_ard)
    all_parts = [str(tmp_path / "parts" / f"{p}.csv") for p in (*parts, "pkpd")]
    _run_script(root, "stats_ard", tmp_path, {"parts": all_parts}, {"ard": str(tmp_path / "ard.csv")},
                {"arms": arm_codes, "visits": config["visits"]})  # fmt: skip
    whole = pd.read_csv(tmp_path / "ard.csv", keep_default_na=False)
    assert {"endpoint", "display"} == set(whole["analysis_type"])
    assert (whole["endpoint"] == "PK/PD model: CL").any() and (whole["endpoint"].str.startswith("Disposition flow")).any()


def test_nca_summary_script(root, tmp_path, toy):
    from fcrnpipe.tableio import write_table

    write_table(toy["adsl"], tmp_path / "adsl.parquet")
    summary = tmp_path / "nca_summary.csv"
    why = "lambda_z not estimable: 1 positive concentration after Tmax, 3 needed"
    nan = np.nan
    pd.DataFrame(
        [["BATO680", "last dose", "AUCtau", "h*mg/L", 3, 5000.0, 20.0, 5100.0, 900.0, 5050.0, 4100.0, 6200.0, 0, 0, ""],
         ["BATO680", "last dose", "t_half", "h", 0, nan, nan, nan, nan, nan, nan, nan, 1, 0, f"not estimable: {why} (1)"]],
        columns=[
            "ARMCD",
            "interval",
            "parameter",
            "unit",
            "n",
            "geomean",
            "geocv_pct",
            "mean",
            "sd",
            "median",
            "min",
            "max",
            "n_missing",
            "n_flagged",
            "notes",
        ],
    ).to_csv(summary, index=False)  # fmt: skip
    out = {"csv": str(tmp_path / "nca.csv"), "html": str(tmp_path / "nca.html")}
    parts = {"pk_nca": str(tmp_path / "part_pk_nca.csv"), "disposition": str(tmp_path / "part_disposition.csv")}
    codes = [a["armcd"] for a in ARMS_CFG]
    _run_part(root, "pk_nca", tmp_path, {"results": str(summary)}, parts["pk_nca"], {"arms": codes, "visits": []})
    write_table(toy["adex"], tmp_path / "adex.parquet")
    _run_part(root, "disposition", tmp_path, {"adsl": str(tmp_path / "adsl.parquet"), "adex": str(tmp_path / "adex.parquet")},
              parts["disposition"], {"arms": codes, "visits": [], "treatment": "BATOCLIMAB", "placebo": "PLACEBO"})  # fmt: skip
    _run_table(
        root,
        "nca_summary",
        tmp_path,
        {"summary": str(summary), "ard": list(parts.values())},
        out,
        {"arms": ARMS_CFG, "data_cut": CUT, "treatment": "BATOCLIMAB", "acceptance": {"min_adj_r2": 0.9, "exclude": True}},
    )
    html = (tmp_path / "nca.html").read_text(encoding="utf-8")
    assert "AUCtau (h*mg/L)" in html and "5000 (20.0)" in html and "Batoclimab 680 mg<br>(N = 3)" in html
    assert f"last dose, t_half: not estimable in 1 of 1 profiles: {why}." in html  # why t1/2 is missing
    assert "adjusted R^2 &lt; 0.9" in html or "adjusted R^2 < 0.9" in html


@pytest.mark.parametrize(
    "caption",
    [
        "stats_endpoints",
        "demographics",
        "disposition",
        "exposure",
        "teae_overview",
        "teae_soc_pt",
        "lab_shift",
        "albumin",
        "cholesterol",
        "igg",
        "aqp4",
        "edss",
        "published_vs_reproduced",
        "nca_summary",
        "pkpd_parameters",
    ],
)
def test_captions_render_as_valid_rst_with_the_data_cut(root, config, caption):
    """stats_endpoints.rst, and the branch of each table of workflow/report/table.rst."""
    import docutils.core
    import docutils.utils
    import jinja2
    from types import SimpleNamespace

    path = "stats_endpoints.rst" if caption == "stats_endpoints" else "table.rst"
    text = (root / "workflow" / "report" / path).read_text(encoding="utf-8")
    rendered = jinja2.Template(text, undefined=jinja2.StrictUndefined).render(
        snakemake=SimpleNamespace(config=config, wildcards=SimpleNamespace(name=caption)))
    assert config["data_cut"] in rendered
    assert "No caption" not in rendered
    assert "opulation" in rendered or caption == "published_vs_reproduced"
    docutils.core.publish_doctree(
        rendered, settings_overrides={"halt_level": docutils.utils.Reporter.WARNING_LEVEL, "report_level": 5}
    )
