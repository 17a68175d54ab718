"""Tests of the figures library (fcrnpipe.figures): content of each figure on a small hand-made
study, arm colours from the configuration, and deterministic PNG/SVG files."""

from __future__ import annotations

import hashlib
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.colors import to_rgba
from PIL import Image

from fcrnpipe import figures as F
from fcrnpipe.errors import UserError
from fcrnpipe.figures.common import mean_ci, restrict, short_ids
from fcrnpipe.figures.pd import NEGATIVE_Y
from fcrnpipe.figures.pk import prepare_concentrations
from fcrnpipe.tableio import read_parquet, write_parquet

ROOT = Path(__file__).resolve().parents[1]
with open(ROOT / "config" / "config.yaml", encoding="utf-8") as _fh:
    CONFIG = yaml.safe_load(_fh)
ARMS = CONFIG["study"]["arms"]
COLOR = {a["armcd"]: a["color"] for a in ARMS}
DOSING = CONFIG["study"]["dosing_days"]
VISITS = CONFIG["visits"]
CUT = "unit-test cut"


# ------------------------------------------------------------------------- hand-made study
# S1: 340 mg, completed. S2: 680 mg, completed. S3: 680 mg, stopped treatment for an AE after
# 2 doses, stayed in the study. S4: 680 mg, allocated but never dosed (not in any analysis set).
def make_adsl() -> pd.DataFrame:
    d = pd.Timestamp
    return pd.DataFrame(
        {
            "USUBJID": ["ST-01-001", "ST-01-002", "ST-02-003", "ST-02-004"],
            "ARMCD": ["BATO340", "BATO680", "BATO680", "BATO680"],
            "SAFFL": ["Y", "Y", "Y", "N"],
            "PKFL": ["Y", "Y", "Y", "N"],
            "PDFL": ["Y", "Y", "Y", "N"],
            "TRTSDT": [d("2021-01-04"), d("2021-02-01"), d("2021-03-01"), pd.NaT],
            "TRTEDT": [d("2021-01-25"), d("2021-02-22"), d("2021-03-08"), pd.NaT],
            "EOTSTT": ["COMPLETED", "COMPLETED", "DISCONTINUED", "DISCONTINUED"],
            "DCTREAS": [None, None, "ADVERSE EVENT", "WITHDRAWAL BY SUBJECT"],
            "EOTDT": [d("2021-01-25"), d("2021-02-22"), d("2021-03-12"), d("2021-04-01")],
            "EOSSTT": ["COMPLETED", "COMPLETED", "COMPLETED", "DISCONTINUED"],
            "DCSREAS": [None, None, None, "WITHDRAWAL BY SUBJECT"],
            "EOSDT": [d("2021-03-29"), d("2021-04-26"), d("2021-05-24"), d("2021-04-01")],
            "LSTALVDT": [d("2021-03-29"), d("2021-04-26"), d("2021-05-24"), d("2021-04-01")],
        }
    )


def _lab(usubjid, paramcd, unit, base, points):
    """points: (ADY, AVAL, AVISITN or None, ANL01FL)."""
    rows = []
    for ady, aval, avisitn, anl in points:
        rows.append(
            {
                "USUBJID": usubjid,
                "PARAMCD": paramcd,
                "ADY": ady,
                "AVAL": aval,
                "AVALU": unit,
                "BASE": base,
                "PCHG": 100.0 * (aval - base) / base,
                "AVISITN": avisitn,
                "ANL01FL": anl,
                "ABLFL": "Y" if ady == 1 else None,
            }
        )
    return rows


def make_adlb() -> pd.DataFrame:
    rows = []
    # IgG (g/L): S1 10 -> 8 -> 5 ; S2 12 -> 6 -> 3.6 (+ a non-analysis retest) ; S3 8 -> 6
    rows += _lab("ST-01-001", "IGG", "g/L", 10.0, [(1, 10.0, 0, "Y"), (8, 8.0, 1, "Y"), (15, 5.0, 2, "Y")])
    rows += _lab(
        "ST-01-002", "IGG", "g/L", 12.0, [(1, 12.0, 0, "Y"), (9, 6.0, 1, "Y"), (10, 7.2, 1, "N"), (15, 3.6, 2, "Y")]
    )
    rows += _lab("ST-02-003", "IGG", "g/L", 8.0, [(1, 8.0, 0, "Y"), (7, 6.0, 1, "Y")])
    rows += _lab("ST-02-004", "IGG", "g/L", 9.0, [(1, 9.0, 0, "Y")])  # never dosed: not in the PD set
    for u, base in (("ST-01-001", 44.0), ("ST-01-002", 40.0), ("ST-02-003", 38.0)):
        rows += _lab(u, "ALB", "g/L", base, [(1, base, 0, "Y"), (15, base - 6, 2, "Y"), (29, base - 9, 4, "Y")])
        rows += _lab(u, "CHOL", "mmol/L", 5.0, [(1, 5.0, 0, "Y"), (15, 5.5, 2, "Y"), (29, 6.0, 4, "Y")])
        rows += _lab(u, "LDL", "mmol/L", 3.0, [(1, 3.0, 0, "Y"), (15, 3.5, 2, "Y"), (29, 3.9, 4, "Y")])
    titres = {
        "ST-01-001": [(-3, 100, "N"), (15, 32, "N"), (29, 5, "Y")],
        "ST-01-002": [(-2, 320, "N"), (15, 100, "N"), (29, 5, "Y")],
        "ST-02-003": [(-5, 32, "N"), (8, 10, "N")],
    }
    for u, pts in titres.items():
        for ady, aval, undet in pts:
            rows.append(
                {
                    "USUBJID": u,
                    "PARAMCD": "AQP4AB",
                    "ADY": ady,
                    "AVAL": float(aval),
                    "UNDETFL": undet,
                    "AVISITN": None,
                    "ANL01FL": None,
                }
            )
    return pd.DataFrame(rows)


def make_adpc() -> pd.DataFrame:
    rows = []
    profiles = {"ST-01-001": [0, 40.0, 60.0, 20.0], "ST-01-002": [0, 90.0, 120.0, 0], "ST-02-003": [0, 70.0, 0, 0]}
    for u, concs in profiles.items():
        for nom, actual, conc in zip((0, 24, 168, 672), (0, 25, 170, 670), concs):
            blq = conc == 0
            rows.append(
                {
                    "USUBJID": u,
                    "AVAL": 0.0 if blq and nom == 0 else (np.nan if blq else conc),
                    "AVALU": "mg/L",
                    "BLQFL": "Y" if blq else "N",
                    "LLOQ": 0.5,
                    "AFRLT": float(actual),
                    "NFRLT": float(nom),
                }
            )
    return pd.DataFrame(rows)


def make_adedss() -> pd.DataFrame:
    rows = []
    for u, base, wk4 in (("ST-01-001", 4.0, 3.0), ("ST-01-002", 4.0, 3.0), ("ST-02-003", 5.0, None)):
        rows.append({"USUBJID": u, "AVAL": base, "ABLFL": "Y", "AVISITN": 0, "AVISIT": "DAY 1", "ANL01FL": "Y"})
        if wk4 is not None:
            rows.append(
                {
                    "USUBJID": u,
                    "AVAL": wk4,
                    "ABLFL": None,
                    "AVISITN": 4,
                    "AVISIT": "WEEK 4",
                    "ANL01FL": "Y",
                    "BASE": base,
                }
            )
    return pd.DataFrame(rows)


def make_adae() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USUBJID": ["ST-01-001", "ST-01-002", "ST-01-002", "ST-02-003", "ST-02-003"],
            "AESEQ": [1, 1, 2, 1, 2],
            "AEDECOD": ["Headache", "Hypercholesterolaemia", "Injection site reaction", "Hypoalbuminaemia", "Rash"],
            "ASTDY": [3, 15, 16, 10, -5],
            "AENDY": [4, None, 17, 40, -2],
            "ATOXGR": [1, 1, 1, 2, 1],
            "AESER": ["N", "N", "N", "N", "N"],
            "TRTEMFL": ["Y", "Y", "Y", "Y", "N"],  # the rash started before the first dose
        }
    )


def make_adex() -> pd.DataFrame:
    rows = [
        {"USUBJID": u, "EXTRT": "BATOCLIMAB", "ADY": d}
        for u, n in (("ST-01-001", 4), ("ST-01-002", 4), ("ST-02-003", 2))
        for d in DOSING[:n]
    ]
    rows += [{"USUBJID": "ST-01-001", "EXTRT": "METHYLPREDNISOLONE", "ADY": d} for d in (1, 2, 3)]
    return pd.DataFrame(rows)


def build_all() -> dict:
    """Every figure of the library on the hand-made study (name -> Figure)."""
    adsl = make_adsl()
    overall = {"label": "Overall", "color": CONFIG["study"]["overall_color"]}
    return {
        "igg_pct_baseline": F.plot_igg_pct_baseline(make_adlb(), adsl, ARMS, DOSING, VISITS, data_cut=CUT),
        "aqp4_titre": F.plot_aqp4_titre(make_adlb(), adsl, ARMS, DOSING, data_cut=CUT),
        "edss_paired": F.plot_edss_paired(make_adedss(), adsl, ARMS, 4, overall=overall, data_cut=CUT),
        "albumin_cholesterol": F.plot_albumin_cholesterol(make_adlb(), adsl, ARMS, DOSING, VISITS, data_cut=CUT),
        "pk_conc_time": F.plot_pk_conc_time(make_adpc(), adsl, ARMS, DOSING, data_cut=CUT),
        "ae_swimmer": F.plot_ae_swimmer(make_adae(), adsl, make_adex(), ARMS, data_cut=CUT),
        "disposition_flow": F.plot_disposition_flow(adsl, ARMS, overall=overall, data_cut=CUT),
    }


def write_all(out_dir: str) -> None:
    """Entry point of the subprocess determinism test: save every figure into ``out_dir``."""
    for name, fig in build_all().items():
        F.save(fig, os.path.join(out_dir, f"{name}.png"), os.path.join(out_dir, f"{name}.svg"))


# --------------------------------------------------------------------------------- helpers
def lines_with(ax, prefix):
    """Lines of ``ax`` whose gid starts with ``prefix`` (error-bar caps excluded)."""
    return [ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith(prefix) and "-cap" not in ln.get_gid()]


def all_texts(fig):
    texts = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        texts += [t.get_text() for t in ax.texts]
    return texts


@pytest.fixture(scope="module")
def figs():
    return build_all()


# ------------------------------------------------------------------------------------ style
def test_arm_colours_and_labels_come_from_config():
    arms = F.arms_from_config(ARMS)
    assert [a.armcd for a in arms] == ["BATO340", "BATO680"]
    assert F.arm_colors(ARMS) == COLOR
    other = [{**a, "color": "#00ff00"} if a["armcd"] == "BATO340" else a for a in ARMS]
    assert F.arm_colors(other)["BATO340"] == "#00ff00"


def test_duplicated_or_incomplete_arm_config_is_a_user_error():
    with pytest.raises(UserError, match="duplicated"):
        F.arms_from_config([ARMS[0], ARMS[0]])
    with pytest.raises(UserError, match="color"):
        F.arms_from_config([{"armcd": "X", "label": "X"}])


def test_subject_of_unknown_arm_is_a_user_error():
    adsl = make_adsl()
    adsl.loc[0, "ARMCD"] = "PLACEBO"
    with pytest.raises(UserError, match="PLACEBO"):
        F.plot_igg_pct_baseline(make_adlb(), adsl, ARMS, DOSING, VISITS)


def test_mean_ci_uses_t_quantile():
    n, mean, sd, lo, hi = mean_ci([1.0, 2.0, 3.0, np.nan])
    assert (n, mean, sd) == (3, 2.0, 1.0)
    assert hi - mean == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)
    assert lo == pytest.approx(2 * mean - hi)
    assert math.isnan(mean_ci([5.0])[3])


def test_short_ids_drop_the_common_prefix():
    assert short_ids(["ST-01-001", "ST-02-003"]) == {"ST-01-001": "01-001", "ST-02-003": "02-003"}


# ------------------------------------------------------------------------------------- PD
def test_igg_panels_individual_lines_and_visit_means(figs):
    fig = figs["igg_pct_baseline"]
    ax340, ax680 = fig.axes
    assert len(lines_with(ax340, "individual-")) == 1
    assert len(lines_with(ax680, "individual-")) == 2  # S4 (not in the PD set) is left out
    for ax, armcd in ((ax340, "BATO340"), (ax680, "BATO680")):
        for ln in lines_with(ax, "individual-") + lines_with(ax, "mean-"):
            assert ln.get_color() == COLOR[armcd]
    # S2 keeps its non-analysis retest in the individual line ...
    s2 = lines_with(ax680, "individual-ST-01-002")[0]
    assert list(s2.get_xdata()) == [1, 9, 10, 15]
    # ... but the means use the ANL01FL records at the nominal visit days (1, 8, 15)
    (mean,) = lines_with(ax680, "mean-BATO680")
    assert list(mean.get_xdata()) == [1.0, 8.0, 15.0]
    assert list(mean.get_ydata()) == pytest.approx([100.0, (50.0 + 75.0) / 2, 30.0])
    refs = {ln.get_ydata()[0] for ln in lines_with(ax680, "reference")}
    assert {50.0, 30.0} <= refs
    assert list(lines_with(ax340, "dose-marks")[0].get_xdata()) == DOSING
    assert "PD analysis set (N = 3)" in fig.texts[1].get_text()
    assert any("Data cut: unit-test cut" in t for t in all_texts(fig))


def test_aqp4_one_line_per_subject_with_negative_row(figs):
    fig = figs["aqp4_titre"]
    ax = fig.axes[0]
    lines = lines_with(ax, "subject-")
    assert len(lines) == 3
    assert [ln.get_color() for ln in lines] == [COLOR["BATO340"], COLOR["BATO680"], COLOR["BATO680"]]
    s1 = lines[0].get_ydata()
    # titres keep their order; the negative result sits on the row below 1:10 (up to the offset)
    assert s1[0] > s1[1] > 10 > s1[2]
    assert s1[2] == pytest.approx(NEGATIVE_Y, rel=0.3)
    assert s1[0] / 100 == pytest.approx(s1[1] / 32)  # one constant offset factor per subject
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0].startswith("Negative")
    assert labels[1:] == ["1:10", "1:32", "1:100", "1:320", "1:1000"]
    assert ax.get_yscale() == "log"


def test_edss_pairs_and_deterministic_offsets(figs):
    pairs = F.edss_pairs(make_adedss(), 4)
    assert list(pairs["USUBJID"]) == ["ST-01-001", "ST-01-002"]
    assert list(pairs["BASELINE"]) == [4.0, 4.0] and list(pairs["FOLLOWUP"]) == [3.0, 3.0]
    fig = figs["edss_paired"]
    ax = fig.axes[0]
    pair_lines = lines_with(ax, "pair-")
    assert len(pair_lines) == 2  # S3 has no week-4 value
    assert [ln.get_color() for ln in pair_lines] == [COLOR["BATO340"], COLOR["BATO680"]]
    assert any("1 subject(s) of the analysis set without both assessments" in t for t in all_texts(fig))
    again = F.plot_edss_paired(make_adedss(), make_adsl(), ARMS, 4, data_cut=CUT)
    assert [list(ln.get_xdata()) for ln in lines_with(again.axes[0], "pair-")] == [
        list(ln.get_xdata()) for ln in pair_lines
    ]


def test_edss_ties_are_spread_horizontally():
    adsl = make_adsl().assign(ARMCD="BATO680")
    fig = F.plot_edss_paired(make_adedss(), adsl, ARMS, 4)
    xs = [ln.get_xdata()[0] for ln in lines_with(fig.axes[0], "pair-")]
    assert len(xs) == 2 and xs[0] != xs[1]


# ------------------------------------------------------------------------------------ safety
def test_albumin_cholesterol_panels_means_and_grade2_line(figs):
    fig = figs["albumin_cholesterol"]
    assert len(fig.axes) == 6
    alb_abs = fig.axes[0]
    (ref,) = [ln for ln in lines_with(alb_abs, "reference")]
    assert ref.get_ydata()[0] == 30.0
    for ax in fig.axes:
        assert len(lines_with(ax, "mean-")) == 2
    (alb680,) = lines_with(alb_abs, "mean-ALB-aval-BATO680")
    assert list(alb680.get_xdata()) == [1.8, 15.8, 29.8]  # nominal days, arm shifted by +0.8
    assert list(alb680.get_ydata()) == pytest.approx([39.0, 33.0, 30.0])
    assert alb680.get_color() == COLOR["BATO680"]
    (pchg340,) = lines_with(fig.axes[3], "mean-ALB-pchg-BATO340")
    assert list(pchg340.get_ydata()) == pytest.approx([0.0, -600 / 44, -900 / 44])
    assert len(lines_with(alb_abs, "individual-")) == 3
    assert F.ctcae_threshold(pd.read_csv(ROOT / "resources" / "ctcae.csv", dtype=str), "ALB", 2) == 30.0


def test_swimmer_bars_doses_aes_and_discontinuation(figs):
    subj, ae, ex = F.swimmer_data(make_adsl(), make_adae(), make_adex(), F.arms_from_config(ARMS), "BATOCLIMAB")
    assert list(subj["USUBJID"]) == ["ST-01-001", "ST-01-002", "ST-02-003"]
    assert len(ae) == 4  # the pre-treatment rash is not a TEAE
    assert len(ex) == 10  # batoclimab only, not methylprednisolone
    ongoing = ae[ae["AEDECOD"] == "Hypercholesterolaemia"].iloc[0]
    assert ongoing["ONGOING"] and ongoing["END"] == subj.loc[1, "END_DAY"]
    s2 = ae[ae["USUBJID"] == "ST-01-002"]
    assert sorted(s2["LANE"]) == [0, 1]  # overlapping events in two lanes
    assert subj.loc[2, "EOT_DAY"] == 12 and math.isnan(subj.loc[0, "EOT_DAY"])

    ax = figs["ae_swimmer"].axes[0]
    gids = [p.get_gid() or "" for p in ax.patches]
    assert sum(g.startswith("subject-") for g in gids) == 3
    assert sum(g.startswith("ae-") for g in gids) == 4
    assert len(lines_with(ax, "eot-")) == 1 and len(lines_with(ax, "eos-")) == 0
    assert sum(len(ln.get_xdata()) for ln in lines_with(ax, "doses-")) == 10
    (grade2,) = [p for p in ax.patches if (p.get_gid() or "").startswith("ae-ST-02-003")]
    assert grade2.get_facecolor() == pytest.approx(to_rgba(F.GRADE_COLORS[2]))
    assert [t.get_color() for t in ax.get_yticklabels()] == [COLOR["BATO340"], COLOR["BATO680"], COLOR["BATO680"]]


def test_swimmer_reads_parquet_dates_and_draws_no_ae_bars_without_aes(tmp_path):
    adsl = make_adsl()
    for col in ("TRTSDT", "TRTEDT", "EOTDT", "EOSDT", "LSTALVDT"):
        adsl[col] = adsl[col].dt.date  # parquet date32, as the derive stage writes them
    write_parquet(adsl, tmp_path / "adsl.parquet")
    adsl = read_parquet(tmp_path / "adsl.parquet")
    subj, _, _ = F.swimmer_data(adsl, make_adae(), make_adex(), F.arms_from_config(ARMS), "BATOCLIMAB")
    assert list(subj["END_DAY"]) == [85.0, 85.0, 85.0]
    fig = F.plot_ae_swimmer(make_adae().iloc[0:0], adsl, make_adex(), ARMS)
    gids = [p.get_gid() or "" for p in fig.axes[0].patches]
    assert sum(g.startswith("subject-") for g in gids) == 3 and not any(g.startswith("ae-") for g in gids)


def test_single_arm_configuration():
    one = [ARMS[1]]
    adsl = make_adsl().assign(ARMCD="BATO680")
    assert len(F.plot_igg_pct_baseline(make_adlb(), adsl, one, DOSING, VISITS).axes) == 1
    edss = F.plot_edss_paired(make_adedss(), adsl, one, 4, overall={"label": "All", "color": "#000000"})
    assert lines_with(edss.axes[0], "overall-") == []  # no overall group beside a single arm
    assert "Allocated to Batoclimab 680 mg\n(n = 4)" in all_texts(F.plot_disposition_flow(adsl, one))


# --------------------------------------------------------------------------------------- PK
def test_pk_linear_and_log_panels(figs):
    fig = figs["pk_conc_time"]
    lin, log = fig.axes
    assert log.get_yscale() == "log" and lin.get_yscale() == "linear"
    for ax in (lin, log):
        assert len(lines_with(ax, "individual-")) == 3
    blq = lines_with(log, "blq-log-BATO680")[0]
    assert set(blq.get_ydata()) == {0.25}  # LLOQ/2
    gm = F.geometric_means(restrict(prepare_concentrations(make_adpc()), make_adsl().query("PKFL == 'Y'")))
    row = gm[(gm["ARMCD"] == "BATO680") & (gm["NOMDAY"] == 1.0)].iloc[0]
    assert row["gmean"] == pytest.approx(math.sqrt(90.0 * 70.0))
    late = gm[(gm["ARMCD"] == "BATO680") & (gm["NOMDAY"] == 28.0)].iloc[0]
    assert math.isnan(late["gmean"])  # both BLQ: no mean
    # doses at study days 1, 8, ... are at 0, 7, ... days after the first dose
    assert list(lines_with(lin, "dose-marks")[0].get_xdata()) == [d - 1 for d in DOSING]


# -------------------------------------------------------------------------------- disposition
def test_disposition_counts():
    d = F.disposition_counts(make_adsl(), ARMS)
    assert d.enrolled == 4 and d.not_allocated == 0
    a = d.arms["BATO680"]
    assert (a.allocated, a.dosed, a.not_dosed) == (3, 2, 1)
    assert (a.completed_treatment, a.discontinued_treatment) == (1, 1)
    assert a.treatment_reasons == {"Adverse event": 1}  # the undosed subject is not counted here
    assert (a.completed_study, a.withdrew_study) == (2, 1)
    assert a.study_reasons == {"Withdrawal by subject": 1}
    assert a.analysis_sets == {"Safety": 2, "PK": 2, "PD": 2}
    adsl = pd.concat([make_adsl(), pd.DataFrame([{"USUBJID": "ST-09-999", "ARMCD": "SCRNFAIL", "SAFFL": "N"}])])
    assert F.disposition_counts(adsl, ARMS).not_allocated == 1


def test_disposition_flow_shows_the_numbers(figs):
    texts = all_texts(figs["disposition_flow"])
    assert "Enrolled\n(n = 4)" in texts
    assert "Allocated to Batoclimab 680 mg\n(n = 3)" in texts
    assert "Did not receive batoclimab (n = 1)" in texts
    assert "Discontinued treatment (n = 1)\n  • Adverse event (n = 1)" in texts


# ------------------------------------------------------------------------------------- save
def test_save_writes_300_dpi_png_and_svg_without_dates_or_paths(tmp_path, figs):
    fig = figs["albumin_cholesterol"]
    png, svg = tmp_path / "sub" / "f.png", tmp_path / "sub" / "f.svg"
    F.save(fig, png, svg)
    w_in, h_in = fig.get_size_inches()
    with Image.open(png) as img:
        assert img.size == (round(w_in * 300), round(h_in * 300))
        assert img.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        assert "Creation Time" not in img.info
    text = svg.read_text(encoding="utf-8")
    assert "<dc:date>" not in text
    assert str(tmp_path) not in text and str(ROOT) not in text
    assert text.startswith("<?xml")
    ids = re.findall(r' id="([^"]+)"', text)
    assert len(ids) == len(set(ids))  # valid SVG: element ids are unique, also across panels


def test_figures_do_not_leak_into_pyplot(figs):
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []


def test_same_figures_byte_identical_in_fresh_processes(tmp_path):
    """Two fresh interpreters (different hash seeds, working directories, output folders and a
    hostile user matplotlibrc in the second) write byte-identical PNG and SVG files."""
    rc_dir = tmp_path / "mplconfig"
    rc_dir.mkdir()
    (rc_dir / "matplotlibrc").write_text(
        "lines.linewidth: 5\nfont.family: serif\nfont.size: 14\nsvg.hashsalt: other\nsvg.fonttype: none\n"
        "axes.formatter.use_locale: True\nsavefig.dpi: 72\nxtick.major.size: 12\naxes.edgecolor: red\n"
        "axes.titlepad: 30\nlines.markeredgewidth: 3\n",
        encoding="utf-8",
    )
    code = "import sys; sys.path.insert(0, sys.argv[1]); import test_figures; " "test_figures.write_all(sys.argv[2])"
    digests = []
    for i, extra in enumerate(({}, {"MPLCONFIGDIR": str(rc_dir)})):
        out = tmp_path / f"run{i}"
        out.mkdir()
        env = {**os.environ, "PYTHONHASHSEED": str(i + 1), "MPLBACKEND": "agg", **extra}
        env.pop("SOURCE_DATE_EPOCH", None)
        subprocess.run(
            [sys.executable, "-c", code, str(Path(__file__).parent), str(out)],
            cwd=out,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())})
    assert len(digests[0]) == 14
    assert digests[0] == digests[1]


def test_stable_clip_ids_renumbers_in_order_of_first_use():
    from fcrnpipe.figures.style import stable_clip_ids

    svg = ('<path clip-path="url(#pb7a15994ed)"/><path clip-path="url(#p0a80f27d07)"/>'
           '<path clip-path="url(#pb7a15994ed)"/><defs><clipPath id="pb7a15994ed"/>'
           '<clipPath id="p0a80f27d07"/></defs>')
    assert stable_clip_ids(svg) == (
        '<path clip-path="url(#clip1)"/><path clip-path="url(#clip2)"/>'
        '<path clip-path="url(#clip1)"/><defs><clipPath id="clip1"/><clipPath id="clip2"/></defs>')
    # other ids (glyphs, hatch patterns) are left alone
    assert stable_clip_ids('<use xlink:href="#DejaVuSans-30"/>') == '<use xlink:href="#DejaVuSans-30"/>'


def test_the_font_is_matplotlibs_bundled_dejavu_sans_even_with_a_system_copy():
    """A system DejaVu Sans (Debian's fonts-dejavu) has other glyph numbers: never used."""
    import matplotlib as mpl
    from matplotlib import font_manager

    from fcrnpipe.figures.style import FONT, pin_bundled_font

    bundled = Path(mpl.get_data_path(), "fonts", "ttf").resolve()
    fm = font_manager.fontManager
    saved = list(fm.ttflist)
    try:
        # a machine whose font cache lists only a system copy of the family
        fake = font_manager.FontEntry(fname="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", name=FONT)
        fm.ttflist = [f for f in fm.ttflist if f.name != FONT] + [fake]
        font_manager.FontManager._findfont_cached.cache_clear()
        pin_bundled_font()
        for spec in (FONT, f"{FONT}:bold", f"{FONT}:italic"):
            assert Path(font_manager.findfont(spec, fallback_to_default=False)).resolve().parent == bundled
    finally:
        fm.ttflist = saved
        font_manager.FontManager._findfont_cached.cache_clear()
        pin_bundled_font()
