"""The analysis results dataset: layout, exact round trip to endpoints.csv, and every number of
the endpoint tables joined to one ARD row."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from test_stats_adam import ARMS_CFG, toy_study
from test_tables import PKPD_PARAMETERS

from fcrnpipe.errors import UserError
from fcrnpipe.stats import (
    ARD_COLUMNS,
    ae_part,
    build_ard,
    disposition_display_part,
    disposition_part,
    edss_endpoints,
    endpoints_from_ard,
    gather_ard,
    gather_endpoints,
    lab_part,
    part_ard,
    pd_part,
    read_ard,
)
from fcrnpipe.stats.safety import ae_display_part, lab_display_part
from fcrnpipe.stats.ard import ARD_KEY, ard_from_endpoints, paramcd_of
from fcrnpipe.stats.pk import nca_summary_rows, pkpd_parameter_rows
from fcrnpipe.stats.descriptive import frame, row
from fcrnpipe.tableio import write_csv
from fcrnpipe.tables import (
    albumin_table,
    aqp4_table,
    cholesterol_table,
    demographics_table,
    disposition_table,
    edss_table,
    exposure_table,
    igg_table,
    lab_shift_table,
    nca_summary_table,
    pkpd_parameters_table,
    teae_overview_table,
    teae_soc_pt_table,
)

NAN = math.nan
#: as pk/nca_summary.csv (with the counts of missing values and why)
LZ = "lambda_z not estimable: 2 positive concentrations after Tmax, 3 needed"
NCA_SUMMARY = pd.DataFrame(
    [
        ["BATO340", "first dose", "Cmax", "mg/L", 2, 123.456, 25.04, 125.0, 20.0, 125.0, 110.9, 139.1, 0, 0, ""],
        ["BATO680", "first dose", "Cmax", "mg/L", 3, 300.0, 10.0, 301.0, 30.0, 299.0, 270.0, 334.0, 0, 0, ""],
        ["BATO340", "first dose", "Tmax", "h", 2, NAN, NAN, NAN, NAN, 72.0, 48.0, 96.0, 0, 0, ""],
        ["BATO340", "first dose", "t_half", "h", 0, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 2, 0,
         f"not estimable: {LZ} (1); not estimable: no positive concentration (1)"],
        ["BATO680", "first dose", "t_half", "h", 1, 20.0, NAN, 20.0, NAN, 20.0, 20.0, 20.0, 2, 1,
         f"not estimable: {LZ} (2); excluded: lambda_z_span < 2; adjusted R^2 < 0.9 (1)"],
    ],
    columns=["ARMCD", "interval", "parameter", "unit", "n", "geomean", "geocv_pct", "mean", "sd", "median", "min",
             "max", "n_missing", "n_flagged", "notes"],
)  # fmt: skip
GRADING = {"hypoalbuminaemia": "ALB", "hypercholesterolaemia": "CHOL"}
#: as resources/ctcae.csv: different grade grids, so the table pads the albumin grid
MAX_GRADES = {"ALB": 3, "CHOL": 4}
IMPROVEMENT = {"cut": 5.5, "large": 1.0, "small": 0.5}
TREATMENT = "BATOCLIMAB"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The toy study's ARD as the stats stage writes it (through CSV) and its ADaM datasets."""
    adam = toy_study()
    codes = [a["armcd"] for a in ARMS_CFG]
    adsl = adam["adsl"]
    parts = {
        "ae": ae_part(adsl, adam["adae"], codes),
        "lab": lab_part(adsl, adam["adlb"], codes, GRADING, MAX_GRADES),
        "disposition": disposition_part(adsl, adam["adex"], codes, TREATMENT),
        "pd": pd_part(adsl, adam["adlb"], codes),
        "edss": edss_endpoints(adsl, adam["adedss"], codes, 4, IMPROVEMENT),
    }
    # the analysis visits, as config ``visits`` gives them to the stats stage
    v = pd.concat([adam[d][["AVISITN", "AVISIT"]] for d in ("adlb", "adedss")]).dropna().drop_duplicates()
    visits = [{"name": str(b), "avisitn": float(a)} for a, b in zip(v["AVISITN"], v["AVISIT"]) if str(b)]
    displays = {
        "ae": ae_display_part(adsl, adam["adae"], codes),
        "lab": lab_display_part(adsl, adam["adlb"], codes, GRADING, MAX_GRADES),
        "disposition": disposition_display_part(adsl, codes),
    }
    endpoints = gather_endpoints(parts.values(), codes, visits)
    # as the pipeline: each stats rule writes its part's ARD, stats_endpoints gathers them
    part_ards = [part_ard(p, displays.get(k), codes, visits) for k, p in parts.items()]
    # the display-only parts of the PK and PK/PD stages' results (rule stats_part: pk_nca, pkpd)
    part_ards += [part_ard(frame([]), nca_summary_rows(NCA_SUMMARY), codes, visits)]
    part_ards += [part_ard(frame([]), pkpd_parameter_rows(PKPD_PARAMETERS), codes, visits)]
    ard = gather_ard(part_ards, codes, visits)
    path = tmp_path_factory.mktemp("ard") / "ard.csv"
    write_csv(ard, path)
    return adam, endpoints, read_ard(str(path))


def test_ard_layout_and_analysis_types(study):
    _, endpoints, ard = study
    assert list(ard.columns) == ARD_COLUMNS
    assert set(ard["analysis_type"]) == {"endpoint", "display"}
    assert not ard.duplicated(["endpoint", "population", "arm", "visit", "statistic", "component"]).any()
    # every endpoint row gives an estimate and an n; CI/p components only where they exist
    est = ard[(ard["component"] == "estimate") & (ard["analysis_type"] == "endpoint")]
    assert len(est) == len(endpoints)
    assert set(ard.loc[ard["endpoint"].str.startswith("IGG: "), "paramcd"]) == {"IGG"}
    assert set(ard.loc[ard["endpoint"].str.startswith("TEAE"), "paramcd"]) == {""}
    sets = ard[(ard["endpoint"] == "Analysis set") & (ard["component"] == "estimate")]
    assert {"Safety (SAFFL=Y)", "PD (PDFL=Y)", "All enrolled"} <= set(sets["population"])


def test_endpoints_csv_is_the_exact_inverse(study, tmp_path):
    """endpoints.csv derived from the ARD (read back from CSV) is byte-identical to the gathered parts."""
    _, endpoints, ard = study
    write_csv(endpoints, tmp_path / "direct.csv")
    write_csv(endpoints_from_ard(ard), tmp_path / "derived.csv")
    assert (tmp_path / "direct.csv").read_bytes() == (tmp_path / "derived.csv").read_bytes()


def test_round_trip_keeps_interval_notation_and_missing_values():
    nan = math.nan
    rows = [
        row("EDSS: change from baseline", "Safety (SAFFL=Y)", "A", "WEEK 4", 6, "hodges_lehmann", -1.0, "hl", -2.0, 0.0,
            ci_level=0.96875, ci_bounds="[)"),
        row("EDSS: change from baseline", "Safety (SAFFL=Y)", "A", "WEEK 4", 6, "wilcoxon_signed_rank", 0.0, "w",
            p_value=0.03125),
        row("EDSS: change from baseline", "Safety (SAFFL=Y)", "A", "WEEK 4", 1, "sd", nan, "sd"),
        row("EDSS: change from baseline", "Safety (SAFFL=Y)", "B", "WEEK 4", 3, "hodges_lehmann", 0.5, "hl",
            ci_level=0.75, ci_bounds=""),
    ]
    ep = frame(rows)
    ard = ard_from_endpoints(ep)
    hl = ard[(ard["arm"] == "A") & (ard["statistic"] == "hodges_lehmann")].set_index("component")["value"]
    assert hl["ci_low_included"] == 1.0 and hl["ci_high_included"] == 0.0 and hl["ci_level"] == 0.96875
    assert not ((ard["arm"] == "B") & ard["component"].str.startswith("ci_low")).any()
    pd.testing.assert_frame_equal(endpoints_from_ard(ard), ep)


def test_paramcd_and_duplicate_keys():
    assert paramcd_of("AQP4AB: titre") == "AQP4AB" and paramcd_of("Exposure: number of doses") == ""
    ep = frame([row("X", "P", "A", "", 1, "n_subjects", 1, "m")] * 2)
    with pytest.raises(UserError, match="not unique"):
        build_ard(frame([]), [ep])


def _tables(adam, ard):
    arms = ARMS_CFG
    adsl, adlb = adam["adsl"], adam["adlb"]
    return [
        demographics_table(None, arms, ard=ard, treatment=TREATMENT),
        disposition_table(None, None, arms, TREATMENT, ard=ard),
        exposure_table(None, None, arms, TREATMENT, ard=ard),
        teae_overview_table(None, adam["adae"], arms, ard=ard, treatment=TREATMENT),
        albumin_table(adsl, adlb, arms, ard=ard),
        cholesterol_table(adsl, adlb, arms, ard=ard),
        igg_table(adsl, adlb, arms, ard=ard),
        aqp4_table(None, None, arms, ard=ard),
        edss_table(None, None, arms, 4, IMPROVEMENT, ard=ard),
        lab_shift_table(None, None, arms, GRADING, ard=ard),
        teae_soc_pt_table(None, adam["adae"], arms, ard=ard),
        nca_summary_table(NCA_SUMMARY, arms, ard=ard),
        pkpd_parameters_table(PKPD_PARAMETERS, ard=ard),
    ]


#: Numeric columns of a table's CSV that are coordinates (labels), not reported numbers.
COORDINATES = {"lab_shift": {"baseline_grade", "worst_grade"}, "published_vs_reproduced": {"holds"}}


def assert_traced_to_the_ard(table, ard: pd.DataFrame) -> None:
    """Join every number of ``table.data`` (its CSV) to exactly one ARD row with the same value;
    a number without an ARD source (computed by the table builder) fails."""
    data, trace = table.data, table.trace
    assert len(trace), table.name
    assert not trace.duplicated(["record", "column"]).any(), table.name
    joined = trace.merge(ard, on=ARD_KEY, how="left", validate="many_to_one", indicator=True)
    missing = joined[joined["_merge"] != "both"]
    cells = {(int(r), str(c)): v for r, c, v in zip(joined["record"], joined["column"], joined["value"])}
    skip = COORDINATES.get(table.name, set())
    numeric = [c for c in data.columns if pd.api.types.is_numeric_dtype(data[c]) and c not in skip]
    for i, r in data.iterrows():
        for c in numeric:
            got = float(r[c])
            if math.isnan(got):
                continue
            assert (i, c) in cells, f"{table.name}: {dict(r)} column {c} has no ARD source"
            assert not (missing["record"].eq(i) & missing["column"].eq(c)).any(), (table.name, i, c)
            assert cells[(i, c)] == got, (table.name, dict(r), c, cells[(i, c)], got)


#: Text columns of a table's CSV: labels, not numbers.
LABELS = {
    "nca_summary": {"ARMCD", "interval", "parameter", "unit"},
    "pkpd_parameters": {"parameter", "unit", "kind", "part", "model"},
    "lab_shift": {"term", "PARAMCD", "arm"},
    "teae_soc_pt": {"soc", "pt", "arm"},
}


def test_every_number_of_the_tables_is_one_ard_row(study):
    adam, _, ard = study
    tables = _tables(adam, ard)
    assert len(tables) == 13
    for table in tables:
        assert_traced_to_the_ard(table, ard)
        text = [c for c in table.data.columns if not pd.api.types.is_numeric_dtype(table.data[c])]
        assert set(text) <= {"section", "label", "statistic"} | LABELS.get(table.name, set()), (table.name, text)


def _altered(ard: pd.DataFrame, key: tuple[str, ...], value: float) -> pd.DataFrame:
    m = pd.Series(True, index=ard.index)
    for col, v in zip(ARD_KEY, key):
        m &= ard[col] == v
    assert m.sum() == 1, key
    return ard.assign(value=ard["value"].mask(m, value))


def test_pk_tables_show_the_ard_numbers_not_the_results_files(study):
    """The NCA and PK/PD tables render the ARD's numbers: an altered ARD value is what they show."""
    adam, _, ard = study
    key = ("NCA: Cmax", "PK (PKFL=Y)", "BATO680", "first dose", "geometric_mean", "estimate")
    t = nca_summary_table(NCA_SUMMARY, ARMS_CFG, ard=_altered(ard, key, 777.0))
    row = t.data[(t.data["parameter"] == "Cmax") & (t.data["ARMCD"] == "BATO680")]
    assert row["geomean"].item() == 777.0
    assert any(r.cells.get("BATO680", "").startswith("777 (") for r in t.rows)
    assert [c.n for c in t.columns] == [2, 3]  # header N: the ARD's PK analysis set (disposition part)
    key = ("PK/PD model: PD: EC50", "Subjects in the PK/PD model fit", "Overall", "", "bootstrap_percentile_ci", "ci_high")
    t = pkpd_parameters_table(PKPD_PARAMETERS, ard=_altered(ard, key, 9.5))
    assert t.data.loc[2, "boot_ci_high"] == 9.5 and t.data.loc[0, "boot_n_ok"] == 8
    assert any(r.label == "EC50" and r.cells["boot_ci"] == "(2.95, 9.50)" for r in t.rows)
    assert t.data["boot_n_ok"].dtype.kind == "i"  # integer columns stay integers (CSV unchanged)
    with pytest.raises(UserError, match="EC50"):
        pkpd_parameters_table(PKPD_PARAMETERS, ard=ard[~ard["endpoint"].str.endswith("EC50")])


def test_tables_from_the_ard_equal_the_tables_computed_from_adam(study):
    """Rendering from the stats stage's ARD gives the same CSV data and display rows as the
    library path without an ARD (which computes the ARD rows with the stats functions)."""
    adam, _, ard = study
    adsl, adlb, arms = adam["adsl"], adam["adlb"], ARMS_CFG
    direct = [
        demographics_table(adsl, arms, treatment=TREATMENT),
        disposition_table(adsl, adam["adex"], arms, TREATMENT),
        exposure_table(adsl, adam["adex"], arms, TREATMENT),
        teae_overview_table(adsl, adam["adae"], arms, treatment=TREATMENT),
        albumin_table(adsl, adlb, arms),
        cholesterol_table(adsl, adlb, arms),
        igg_table(adsl, adlb, arms),
        aqp4_table(adsl, adlb, arms),
        edss_table(adsl, adam["adedss"], arms, 4, IMPROVEMENT),
        lab_shift_table(adsl, adlb, arms, GRADING, MAX_GRADES),
        teae_soc_pt_table(adsl, adam["adae"], arms),
        nca_summary_table(NCA_SUMMARY, arms, adsl),
        pkpd_parameters_table(PKPD_PARAMETERS),
    ]
    for a, b in zip(_tables(adam, ard), direct):
        pd.testing.assert_frame_equal(a.data, b.data, obj=a.name)
        assert a.rows == b.rows and a.columns == b.columns and a.footnotes == b.footnotes, a.name


def test_missing_analysis_set_is_a_user_error(study):
    adam, _, ard = study
    with pytest.raises(UserError, match="Analysis set"):
        igg_table(adam["adsl"], adam["adlb"], ARMS_CFG, ard=ard[ard["endpoint"] != "Analysis set"])


def test_igg_figure_draws_the_ard_means_and_is_unchanged(tmp_path):
    """The IgG figure's means, CIs and n come from the ARD (display rows of the PD part): the
    drawn means are the ARD's, and the figure is the same as computed from ADaM."""
    from test_figures import ARMS, CUT, DOSING, VISITS, lines_with, make_adlb, make_adsl

    from fcrnpipe import figures as F
    from fcrnpipe.stats.efficacy import IGG_PCT_BY_VISIT, pd_display_part

    adsl, adlb = make_adsl(), make_adlb()
    name = {float(v["avisitn"]): v["name"] for v in VISITS}
    adlb = adlb.assign(AVISIT=adlb["AVISITN"].map(lambda n: name.get(float(n), "") if pd.notna(n) else ""))
    codes = [a["armcd"] for a in ARMS]
    ard = part_ard(frame([]), pd_display_part(adsl, adlb, codes), codes, VISITS)
    with_ard = F.plot_igg_pct_baseline(adlb, adsl, ARMS, DOSING, VISITS, data_cut=CUT, ard=ard)
    direct = F.plot_igg_pct_baseline(adlb, adsl, ARMS, DOSING, VISITS, data_cut=CUT)
    for label, fig in (("ard", with_ard), ("direct", direct)):
        F.save(fig, tmp_path / f"{label}.png", tmp_path / f"{label}.svg")
    assert (tmp_path / "ard.svg").read_bytes() == (tmp_path / "direct.svg").read_bytes()
    day = {v["name"]: float(v["day"]) for v in VISITS}
    means = ard[(ard["endpoint"] == IGG_PCT_BY_VISIT) & (ard["statistic"] == "mean") & (ard["component"] == "estimate")]
    for ax, arm in zip(with_ard.axes, codes):
        (line,) = lines_with(ax, f"mean-{arm}")
        expected = means[means["arm"] == arm].assign(day=lambda d: d["visit"].map(day)).sort_values("day")
        assert list(line.get_xdata()) == list(expected["day"]) and list(line.get_ydata()) == list(expected["value"])


def test_albumin_cholesterol_figure_draws_the_ard_mean_and_sd(tmp_path):
    """The albumin/cholesterol figure's mean ± SD come from the ARD (display rows of the lab part)."""
    from test_figures import ARMS, CUT, DOSING, VISITS, make_adlb, make_adsl

    from fcrnpipe import figures as F
    from fcrnpipe.stats.safety import LAB_FIGURE_ENDPOINTS, lab_figure_count_rows, lab_figure_rows

    adsl, adlb = make_adsl(), make_adlb()
    name = {float(v["avisitn"]): v["name"] for v in VISITS}
    adlb = adlb.assign(AVISIT=adlb["AVISITN"].map(lambda n: name.get(float(n), "") if pd.notna(n) else ""))
    codes = [a["armcd"] for a in ARMS]
    rows = lab_figure_rows(adsl, adlb, codes) + lab_figure_count_rows(adsl, adlb, codes)
    ard = part_ard(frame([]), frame(rows), codes, VISITS)
    assert {LAB_FIGURE_ENDPOINTS[c].format(p) for c in ("AVAL", "PCHG") for p in ("ALB", "CHOL", "LDL")} <= set(
        ard["endpoint"]
    )
    with_ard = F.plot_albumin_cholesterol(adlb, adsl, ARMS, DOSING, VISITS, data_cut=CUT, ard=ard)
    direct = F.plot_albumin_cholesterol(adlb, adsl, ARMS, DOSING, VISITS, data_cut=CUT)
    for label, fig in (("ard", with_ard), ("direct", direct)):
        F.save(fig, tmp_path / f"{label}.png", tmp_path / f"{label}.svg")
    assert (tmp_path / "ard.svg").read_bytes() == (tmp_path / "direct.svg").read_bytes()


def test_edss_paired_figure_draws_the_ard_mean_and_sd(tmp_path):
    """The EDSS paired figure's mean ± SD (arms and overall) come from the ARD (display rows of the
    EDSS part) and give the same figure as computed from ADaM."""
    from test_figures import ARMS, CUT, make_adedss, make_adsl

    from fcrnpipe import figures as F
    from fcrnpipe.stats.efficacy import EDSS_PAIRED, edss_display_part

    adsl, adedss = make_adsl(), make_adedss()
    codes = [a["armcd"] for a in ARMS]
    ard = part_ard(frame([]), edss_display_part(adsl, adedss, codes, 4), codes)
    assert {"baseline_mean", "followup_sd"} <= set(ard.loc[ard["endpoint"] == EDSS_PAIRED, "statistic"])
    with_ard = F.plot_edss_paired(adedss, adsl, ARMS, 4, data_cut=CUT, ard=ard)
    direct = F.plot_edss_paired(adedss, adsl, ARMS, 4, data_cut=CUT)
    for label, fig in (("ard", with_ard), ("direct", direct)):
        F.save(fig, tmp_path / f"{label}.png", tmp_path / f"{label}.svg")
    assert (tmp_path / "ard.svg").read_bytes() == (tmp_path / "direct.svg").read_bytes()


def test_disposition_flow_figure_shows_the_ard_counts():
    """The flow's counts are the disposition part's ``Disposition flow`` rows: an altered ARD
    count is what the figure prints; the stats stage counts treatment status among dosed subjects."""
    from test_figures import ARMS, CUT, all_texts, make_adsl

    from fcrnpipe import figures as F
    from fcrnpipe.stats.disposition import FLOW, disposition_flow_rows

    adsl = make_adsl()
    codes = [a["armcd"] for a in ARMS]
    ard = part_ard(frame([]), frame(disposition_flow_rows(adsl, codes)), codes)
    flow = ard[ard["endpoint"].str.startswith(FLOW) & (ard["component"] == "estimate")]
    assert flow.loc[flow["endpoint"] == f"{FLOW}: discontinued treatment: Adverse event", "population"].tolist() == [
        "Safety (SAFFL=Y)"
    ]
    key = (f"{FLOW}: allocated", "All enrolled", "BATO680", "", "n_subjects", "estimate")
    texts = all_texts(F.plot_disposition_flow(None, ARMS, data_cut=CUT, ard=_altered(ard, key, 42)))
    assert "Allocated to Batoclimab 680 mg\n(n = 42)" in texts
    assert "Allocated to Batoclimab 680 mg\n(n = 3)" in all_texts(F.plot_disposition_flow(adsl, ARMS, data_cut=CUT))
    with pytest.raises(UserError, match="Disposition flow"):
        F.plot_disposition_flow(None, ARMS, data_cut=CUT, ard=ard[~ard["endpoint"].str.startswith(FLOW)])


def test_aqp4_figure_shows_the_ard_subject_counts():
    from test_figures import ARMS, CUT, DOSING, all_texts, make_adlb, make_adsl

    from fcrnpipe import figures as F
    from fcrnpipe.stats.efficacy import AQP4_FIGURE_SUBJECTS, aqp4_figure_rows

    adsl, adlb = make_adsl(), make_adlb()
    codes = [a["armcd"] for a in ARMS]
    ard = part_ard(frame([]), frame(aqp4_figure_rows(adsl, adlb, codes)), codes)
    n = ard[(ard["endpoint"] == AQP4_FIGURE_SUBJECTS) & (ard["component"] == "estimate")].set_index("arm")["value"]
    direct = " ".join(all_texts(F.plot_aqp4_titre(adlb, adsl, ARMS, DOSING, data_cut=CUT)))
    assert f"(N = {int(n['Overall'])})" in direct
    altered = _altered(ard, (AQP4_FIGURE_SUBJECTS, "PD (PDFL=Y)", "Overall", "", "n_subjects", "estimate"), 99)
    altered = _altered(altered, (AQP4_FIGURE_SUBJECTS, "PD (PDFL=Y)", "BATO680", "", "n_subjects", "estimate"), 98)
    texts = " ".join(all_texts(F.plot_aqp4_titre(adlb, adsl, ARMS, DOSING, data_cut=CUT, ard=altered)))
    assert "(N = 99)" in texts and "Batoclimab 680 mg n = 98" in texts


def test_pk_figure_draws_the_ard_geometric_means(tmp_path):
    """The PK figure's geometric means (and subjects per arm) are the PK part's display rows."""
    from test_figures import ARMS, CUT, DOSING, all_texts, lines_with, make_adpc, make_adsl

    from fcrnpipe import figures as F
    from fcrnpipe.stats.pk import PK_GEOMETRIC_MEAN, PK_SUBJECTS, pk_display_part

    adsl, adpc = make_adsl(), make_adpc()
    codes = [a["armcd"] for a in ARMS]
    ard = part_ard(frame([]), pk_display_part(adsl, adpc, codes), codes)
    gm = ard[(ard["endpoint"] == PK_GEOMETRIC_MEAN) & (ard["statistic"] == "geometric_mean")]
    gm = gm[(gm["component"] == "estimate") & (gm["arm"] == "BATO680")]
    assert set(gm["visit"]) >= {"24.0 h", "672.0 h"}
    assert gm.set_index("visit").at["24.0 h", "value"] == pytest.approx(math.sqrt(90.0 * 70.0))
    assert math.isnan(gm.set_index("visit").at["672.0 h", "value"])  # both BLQ: no mean
    key = (PK_GEOMETRIC_MEAN, "PK (PKFL=Y)", "BATO680", "24.0 h", "geometric_mean", "estimate")
    fig = F.plot_pk_conc_time(adpc, adsl, ARMS, DOSING, data_cut=CUT, ard=_altered(ard, key, 123.0))
    (line,) = lines_with(fig.axes[0], "gmean-linear-BATO680")
    assert 123.0 in list(line.get_ydata()) and 1.0 in list(line.get_xdata())
    key = (PK_SUBJECTS, "PK (PKFL=Y)", "BATO680", "", "n_subjects", "estimate")
    fig = F.plot_pk_conc_time(adpc, adsl, ARMS, DOSING, data_cut=CUT, ard=_altered(ard, key, 57))
    assert "Batoclimab 680 mg n = 57" in " ".join(all_texts(fig))
    with_ard = F.plot_pk_conc_time(adpc, adsl, ARMS, DOSING, data_cut=CUT, ard=ard)
    direct = F.plot_pk_conc_time(adpc, adsl, ARMS, DOSING, data_cut=CUT)
    for label, f in (("ard", with_ard), ("direct", direct)):
        F.save(f, tmp_path / f"{label}.png", tmp_path / f"{label}.svg")
    assert (tmp_path / "ard.svg").read_bytes() == (tmp_path / "direct.svg").read_bytes()


def test_results_parts_dispatch_on_the_part_and_refuse_an_unknown_one():
    """Rule stats_part (pk_nca, pkpd): the part wildcard picks the conversion (pk_nca: NCA summary, pkpd:
    population parameters); an unknown part is an error naming the known ones."""
    from fcrnpipe.stats.pk import RESULTS_PARTS, nca_summary_rows, pkpd_parameter_rows, results_part_rows

    params = pd.DataFrame(
        [["CL", 0.2, 0.01, 5.0, 0.18, 0.22, "L/day", "fixed"]],
        columns=["parameter", "estimate", "se", "rse_pct", "ci_low", "ci_high", "unit", "kind"],
    )
    pd.testing.assert_frame_equal(results_part_rows("pkpd", params), pkpd_parameter_rows(params))
    assert results_part_rows("pkpd", params)["endpoint"].eq("PK/PD model: CL").any()
    assert RESULTS_PARTS == {"pk_nca": nca_summary_rows, "pkpd": pkpd_parameter_rows}
    with pytest.raises(ValueError, match="unknown results part 'pk'; known: pk_nca, pkpd"):
        results_part_rows("pk", params)


def _published(ard: pd.DataFrame, visits):
    """The published-vs-reproduced table of an ARD (whose endpoint rows are stats/endpoints.csv)."""
    from test_stats_published import DOSING_DAYS

    from fcrnpipe.stats import published_comparison
    from fcrnpipe.tables import published_table

    published, values = published_comparison(endpoints_from_ard(ard), ARMS_CFG, visits, DOSING_DAYS)
    return published_table(published, values)


def test_every_reproduced_number_of_published_vs_reproduced_is_one_ard_row(study, config):
    """Each number the reproduced values show is a row of the table's CSV (column ``value``) with
    the key of its ARD row: joined to the ARD it has the same value; an altered ARD value is what
    the reproduced text and the CSV show (nothing is recomputed)."""
    _, _, ard = study
    t = _published(ard, config["visits"])
    assert_traced_to_the_ard(t, ard)
    data = t.data
    assert list(data.columns[:6]) == ["finding", "source", "published", "reproduced", "criterion", "holds"]
    assert list(data.columns[6:]) == ["value", *ARD_KEY]
    # every finding is in the CSV once or once per number, in the order of the HTML rows
    assert list(dict.fromkeys(data["finding"])) == [r.label for r in t.rows]
    # a finding with a reproduced value read at least one number from the ARD
    shown = data[data["reproduced"] != "not available"]
    assert shown.groupby("finding", sort=False)["value"].count().min() >= 1
    week1 = data[data["finding"] == "Mean total IgG reduction at week 1 (680 mg)"]
    assert week1["component"].tolist() == ["estimate", "n"]
    key = tuple(week1.iloc[0][ARD_KEY])
    assert key == ("IGG: percent change from baseline", "PD (PDFL=Y)", "BATO680", "WEEK 1", "mean", "estimate")
    n = int(week1.iloc[1]["value"])
    assert week1.iloc[0]["reproduced"] == f"{-week1.iloc[0]['value']:.1f}% reduction (n = {n})"

    altered = _published(_altered(ard, key, -61.04), config["visits"])
    row = altered.data[altered.data["finding"] == "Mean total IgG reduction at week 1 (680 mg)"]
    assert row["value"].tolist()[0] == -61.04 and row["reproduced"].tolist()[0] == f"61.0% reduction (n = {n})"
    aqp4 = ("AQP4AB: undetectable", "PD (PDFL=Y)", "Overall", "WEEK 3", "n_subjects", "n")
    altered = _published(_altered(ard, aqp4, 11), config["visits"]).data
    assert altered.loc[altered["finding"] == "AQP4-IgG undetectable at WEEK 3", "reproduced"].iloc[0].endswith(
        " of 11 evaluated"
    )


def _figure_texts(fig) -> str:
    """Every text of a figure (titles, subtitles, tick labels, legends, footnotes)."""
    from matplotlib.text import Text

    return "\n".join(t.get_text() for t in fig.findobj(Text))


def _count_key(endpoint: str, population: str, arm: str, component: str = "estimate") -> tuple[str, ...]:
    return (endpoint, population, arm, "", "n_subjects", component)


def test_igg_figure_subject_counts_are_the_ard_rows():
    """The IgG figure's subtitle (N, n per arm) and panel titles show the PD part's ``IGG:
    subjects with a result`` rows: the toy's counts, and an altered ARD count is what it shows."""
    from test_figures import ARMS, CUT, DOSING, VISITS, make_adlb, make_adsl

    from fcrnpipe import figures as F
    from fcrnpipe.stats.efficacy import IGG_FIGURE_SUBJECTS, pd_display_part

    adsl, adlb = make_adsl(), make_adlb()
    name = {float(v["avisitn"]): v["name"] for v in VISITS}
    adlb = adlb.assign(AVISIT=adlb["AVISITN"].map(lambda n: name.get(float(n), "") if pd.notna(n) else ""))
    codes = [a["armcd"] for a in ARMS]
    ard = part_ard(frame([]), pd_display_part(adsl, adlb, codes), codes, VISITS)
    pd_label = "PD (PDFL=Y)"
    n = {a: ard.set_index(ARD_KEY).loc[_count_key(IGG_FIGURE_SUBJECTS, pd_label, a), "value"] for a in [*codes, "Overall"]}
    assert n == {"BATO340": 1, "BATO680": 2, "Overall": 3}  # ST-02-004 is not in the PD set
    direct = _figure_texts(F.plot_igg_pct_baseline(adlb, adsl, ARMS, DOSING, VISITS, data_cut=CUT))
    assert "PD analysis set (N = 3): Batoclimab 340 mg n = 1; Batoclimab 680 mg n = 2" in direct
    altered = _altered(ard, _count_key(IGG_FIGURE_SUBJECTS, pd_label, "BATO680"), 41)
    altered = _altered(altered, _count_key(IGG_FIGURE_SUBJECTS, pd_label, "Overall"), 42)
    fig = F.plot_igg_pct_baseline(adlb, adsl, ARMS, DOSING, VISITS, data_cut=CUT, ard=altered)
    texts = _figure_texts(fig)
    assert "PD analysis set (N = 42): Batoclimab 340 mg n = 1; Batoclimab 680 mg n = 41" in texts
    assert fig.axes[1].get_title(loc="left") == "Batoclimab 680 mg (n = 41)"
    with pytest.raises(UserError, match=IGG_FIGURE_SUBJECTS):
        F.plot_igg_pct_baseline(adlb, adsl, ARMS, DOSING, VISITS, data_cut=CUT, ard=ard[ard["endpoint"] != IGG_FIGURE_SUBJECTS])


def test_albumin_cholesterol_figure_subject_counts_are_the_ard_rows():
    """Subtitle and legend of the albumin/cholesterol figure: the lab part's ``ALB/CHOL/LDL:
    subjects with a result`` rows."""
    from test_figures import ARMS, CUT, DOSING, VISITS, make_adlb, make_adsl

    from fcrnpipe import figures as F
    from fcrnpipe.stats.safety import lab_figure_count_rows, lab_figure_rows, lab_figure_subjects

    adsl, adlb = make_adsl(), make_adlb()
    name = {float(v["avisitn"]): v["name"] for v in VISITS}
    adlb = adlb.assign(AVISIT=adlb["AVISITN"].map(lambda n: name.get(float(n), "") if pd.notna(n) else ""))
    codes = [a["armcd"] for a in ARMS]
    ard = part_ard(frame([]), frame(lab_figure_rows(adsl, adlb, codes) + lab_figure_count_rows(adsl, adlb, codes)), codes, VISITS)
    endpoint, safety = lab_figure_subjects(), "Safety (SAFFL=Y)"
    assert endpoint == "ALB/CHOL/LDL: subjects with a result"
    direct = _figure_texts(F.plot_albumin_cholesterol(adlb, adsl, ARMS, DOSING, VISITS, data_cut=CUT))
    assert "Safety analysis set (N = 3): Batoclimab 340 mg n = 1; Batoclimab 680 mg n = 2" in direct
    altered = _altered(ard, _count_key(endpoint, safety, "BATO340"), 17)
    altered = _altered(altered, _count_key(endpoint, safety, "Overall"), 19)
    texts = _figure_texts(F.plot_albumin_cholesterol(adlb, adsl, ARMS, DOSING, VISITS, data_cut=CUT, ard=altered))
    assert "Safety analysis set (N = 19): Batoclimab 340 mg n = 17; Batoclimab 680 mg n = 2" in texts
    assert "Batoclimab 340 mg (n = 17), mean ± SD" in texts


def test_edss_figure_subject_counts_are_the_ard_rows():
    """Subtitle, axis labels (n per group) and the footnote's subjects without both assessments of
    the EDSS paired figure: the EDSS part's ``EDSS: subjects with baseline and primary visit``
    rows (estimate: with both; n: the analysis set)."""
    from test_figures import ARMS, CUT, make_adedss, make_adsl

    from fcrnpipe import figures as F
    from fcrnpipe.stats.efficacy import EDSS_PAIRED_SUBJECTS, edss_display_part

    adsl, adedss = make_adsl(), make_adedss()
    codes = [a["armcd"] for a in ARMS]
    ard = part_ard(frame([]), edss_display_part(adsl, adedss, codes, 4), codes)
    safety = "Safety (SAFFL=Y)"
    direct = _figure_texts(F.plot_edss_paired(adedss, adsl, ARMS, 4, data_cut=CUT))
    assert "with EDSS at baseline and Week 4 (N = 2): Batoclimab 340 mg n = 1; Batoclimab 680 mg n = 1" in direct
    assert "1 subject(s) of the analysis set without both assessments are not shown." in direct
    altered = _altered(ard, _count_key(EDSS_PAIRED_SUBJECTS, safety, "BATO680"), 5)
    altered = _altered(altered, _count_key(EDSS_PAIRED_SUBJECTS, safety, "Overall"), 6)
    altered = _altered(altered, _count_key(EDSS_PAIRED_SUBJECTS, safety, "Overall", "n"), 10)
    fig = F.plot_edss_paired(adedss, adsl, ARMS, 4, data_cut=CUT, ard=altered)
    texts = _figure_texts(fig)
    assert "with EDSS at baseline and Week 4 (N = 6): Batoclimab 340 mg n = 1; Batoclimab 680 mg n = 5" in texts
    assert "4 subject(s) of the analysis set without both assessments are not shown." in texts
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["Baseline\n(n = 1)", "Week 4\n(n = 1)", "Baseline\n(n = 5)", "Week 4\n(n = 5)",
                     "Baseline\n(n = 6)", "Week 4\n(n = 6)"]  # fmt: skip


def test_swimmer_figure_subject_counts_are_the_ard_rows():
    """The AE swimmer figure's subtitle (N, n per arm) shows the disposition part's ``Analysis
    set`` rows of the safety set: the toy's counts (ST-02-004 has SAFFL = N), and altered ARD
    counts are what it prints; without the rows of the safety set, a UserError."""
    from test_figures import ARMS, CUT, make_adae, make_adex, make_adsl

    from fcrnpipe import figures as F
    from fcrnpipe.stats.demographics import ANALYSIS_SET, disposition_display_part

    adsl, adae, adex = make_adsl(), make_adae(), make_adex()
    codes = [a["armcd"] for a in ARMS]
    demographics = adsl.assign(AGE=[40, 35, 52, 61], SEX=["F", "F", "M", "F"])  # the part's demographics need them
    ard = part_ard(frame([]), disposition_display_part(demographics, codes), codes)
    safety = "Safety (SAFFL=Y)"
    n = {a: ard.set_index(ARD_KEY).loc[_count_key(ANALYSIS_SET, safety, a), "value"] for a in [*codes, "Overall"]}
    assert n == {"BATO340": 1, "BATO680": 2, "Overall": 3}
    subtitle = "Safety analysis set (N = 3): Batoclimab 340 mg n = 1; Batoclimab 680 mg n = 2"
    assert subtitle in _figure_texts(F.plot_ae_swimmer(adae, adsl, adex, ARMS, data_cut=CUT))
    assert subtitle in _figure_texts(F.plot_ae_swimmer(adae, adsl, adex, ARMS, data_cut=CUT, ard=ard))
    altered = _altered(ard, _count_key(ANALYSIS_SET, safety, "BATO340"), 23)
    altered = _altered(altered, _count_key(ANALYSIS_SET, safety, "Overall"), 25)
    texts = _figure_texts(F.plot_ae_swimmer(adae, adsl, adex, ARMS, data_cut=CUT, ard=altered))
    assert "Safety analysis set (N = 25): Batoclimab 340 mg n = 23; Batoclimab 680 mg n = 2" in texts
    with pytest.raises(UserError, match=ANALYSIS_SET):
        F.plot_ae_swimmer(adae, adsl, adex, ARMS, data_cut=CUT, ard=ard[ard["population"] != safety])


def test_nca_footnote_counts_are_the_ard_rows(study):
    """The NCA table's footnote "not estimable in k of n profiles" reads k and n from the pk_nca
    part's Overall rows (per reason, from the summary's notes): t_half, first dose: 3 of 6
    profiles with the lambda_z reason (1 + 2), 1 with no positive concentration, 1 excluded for
    two acceptance rules; profiles = n + n_missing + excluded over the arms = 2 + 4 = 6."""
    _, _, ard = study
    t = nca_summary_table(NCA_SUMMARY, ARMS_CFG, ard=ard)
    note = (
        f"first dose, t_half: not estimable in 3 of 6 profiles: {LZ}; not estimable in 1 of 6 profiles: no positive "
        "concentration; excluded in 1 of 6 profiles: lambda_z_span < 2; adjusted R^2 < 0.9."
    )
    assert note in t.footnotes
    rows = ard[(ard["endpoint"] == "NCA: t_half") & (ard["arm"] == "Overall") & (ard["component"] == "estimate")]
    assert dict(zip(rows["statistic"], rows["value"])) == {
        "n_profiles": 6, f"n_missing: {LZ}": 3, "n_missing: no positive concentration": 1,
        "n_excluded: lambda_z_span < 2; adjusted R^2 < 0.9": 1,
    }  # fmt: skip
    # the footnote shows the ARD's numbers: altered k and n are what it prints
    key = ("NCA: t_half", "PK (PKFL=Y)", "Overall", "first dose", f"n_missing: {LZ}", "estimate")
    altered = _altered(ard, key, 5)
    altered = _altered(altered, ("NCA: t_half", "PK (PKFL=Y)", "Overall", "first dose", "n_profiles", "estimate"), 9)
    notes = nca_summary_table(NCA_SUMMARY, ARMS_CFG, ard=altered).footnotes
    assert any(f"not estimable in 5 of 9 profiles: {LZ}; not estimable in 1 of 9 profiles" in n for n in notes)
    # without reason rows (an ARD from a summary without notes) the footnote says nothing
    bare = nca_summary_table(NCA_SUMMARY, ARMS_CFG, ard=ard[~ard["statistic"].str.contains(": ")])
    assert not any("profiles" in n for n in bare.footnotes)


def test_nca_notes_read_back_exactly():
    from fcrnpipe.nca.summary import parse_notes

    notes = f"not estimable: {LZ} (4); excluded: lambda_z_span < 2; adjusted R^2 < 0.9 (1); flagged, summarised: x (2)"
    assert parse_notes(notes) == [
        ("not estimable", LZ, 4), ("excluded", "lambda_z_span < 2; adjusted R^2 < 0.9", 1), ("flagged", "x", 2)
    ]  # fmt: skip
    assert parse_notes("") == [] and parse_notes(NAN) == []
    with pytest.raises(UserError, match="nca_summary.csv: notes"):
        parse_notes("not estimable: no count")


def test_edss_paired_figure_without_ard_takes_its_population_from_the_stats_function(tmp_path):
    """Called without the ARD and for another population than safety, the figure's mean ± SD are
    the stats stage's rows for that population (edss_paired_rows with its flag), not a mean of its
    own: with subject 002 out of the PD population, the BATO680 arm has no pair and the overall
    baseline/week-4 means are those of subject 001 alone (4.0 -> 3.0, SD 0 drawn as 0.0)."""
    from test_figures import ARMS, make_adedss, make_adsl

    from fcrnpipe import figures as F
    from fcrnpipe.stats.efficacy import EDSS_PAIRED, edss_paired_rows

    adsl, adedss = make_adsl(), make_adedss()
    adsl.loc[adsl["USUBJID"] == "ST-01-002", "PDFL"] = "N"
    rows = frame(edss_paired_rows(adsl, adedss, [a["armcd"] for a in ARMS], 4, flag="PDFL"))
    assert set(rows["population"]) == {"PD (PDFL=Y)"} and set(rows["endpoint"]) == {EDSS_PAIRED}
    est = rows[rows["statistic"].isin(["baseline_mean", "followup_mean"])]
    assert sorted(zip(est["arm"], est["statistic"], est["estimate"], est["n"])) == [
        ("BATO340", "baseline_mean", 4.0, 1), ("BATO340", "followup_mean", 3.0, 1),
        ("Overall", "baseline_mean", 4.0, 1), ("Overall", "followup_mean", 3.0, 1),
    ]  # fmt: skip
    fig = F.plot_edss_paired(adedss, adsl, ARMS, 4, population_flag="PDFL")
    texts = _figure_texts(fig)
    assert "4.0\n(0.0)" in texts and "3.0\n(0.0)" in texts
    assert not any(t.startswith("4.5") or t.startswith("3.5") for t in texts)  # not the safety population's


def test_edss_paired_figure_without_ard_draws_the_stats_rows(monkeypatch):
    """Without the ARD the figure's mean ± SD are what the stats function returns: altered rows
    are what it prints (it computes no mean of its own)."""
    from test_figures import ARMS, make_adedss, make_adsl

    from fcrnpipe import figures as F
    from fcrnpipe.figures import pd as figures_pd
    from fcrnpipe.stats.efficacy import edss_paired_rows

    def shifted(*args, **kwargs):
        rows = edss_paired_rows(*args, **kwargs)
        return [{**r, "estimate": r["estimate"] + 1.5} if r["statistic"].endswith("_mean") else r for r in rows]

    monkeypatch.setattr(figures_pd, "edss_paired_rows", shifted)
    texts = _figure_texts(F.plot_edss_paired(make_adedss(), make_adsl(), ARMS, 4))
    assert "5.5\n(0.0)" in texts and "4.5\n(0.0)" in texts  # BATO340: 4.0 -> 3.0 shifted by 1.5
