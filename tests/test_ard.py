"""The analysis results dataset: layout, exact round trip to endpoints.csv, and every number of
the endpoint tables joined to one ARD row."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from test_stats_adam import ARMS_CFG, toy_study

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
    teae_overview_table,
    teae_soc_pt_table,
)

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
    ]


#: Numeric columns of a table's CSV that are coordinates (labels), not reported numbers.
COORDINATES = {"lab_shift": {"baseline_grade", "worst_grade"}}


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


def test_every_number_of_the_endpoint_tables_is_one_ard_row(study):
    adam, _, ard = study
    for table in _tables(adam, ard):
        assert_traced_to_the_ard(table, ard)


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
    from fcrnpipe.stats.safety import LAB_FIGURE_ENDPOINTS, lab_figure_rows

    adsl, adlb = make_adsl(), make_adlb()
    name = {float(v["avisitn"]): v["name"] for v in VISITS}
    adlb = adlb.assign(AVISIT=adlb["AVISITN"].map(lambda n: name.get(float(n), "") if pd.notna(n) else ""))
    codes = [a["armcd"] for a in ARMS]
    ard = part_ard(frame([]), frame(lab_figure_rows(adsl, adlb, codes)), codes, VISITS)
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
