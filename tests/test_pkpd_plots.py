"""Diagnostic figures of the PK/PD model (fcrnpipe.pkpd.plots) on small hand-made inputs: each
builder returns a figure with the expected elements, and the project's save() writes
byte-identical PNG and SVG files for the same input (figures built twice, from scratch)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from fcrnpipe.figures import save
from fcrnpipe.pkpd import plots as P
from fcrnpipe.pkpd.vpc import vpc_summary

ARMS = [
    {"armcd": "BATO340", "label": "Batoclimab 340 mg", "dose_mg": 340, "color": "#1f77b4"},
    {"armcd": "BATO680", "label": "Batoclimab 680 mg", "dose_mg": 680, "color": "#d62728"},
]
CUT = "unit-test cut"
IDS = ["1", "2", "3", "4"]
ARM_OF = {"1": "BATO340", "2": "BATO680", "3": "BATO680", "4": "BATO340"}
HOURS = np.array([6.0, 24.0, 72.0, 168.0, 336.0, 504.0, 672.0])


def conc(t_h, k):
    return (20.0 + 5 * k) * np.exp(-0.004 * t_h) * (1 - np.exp(-0.1 * t_h))


def predictions() -> pd.DataFrame:
    rows = []
    for k, sid in enumerate(IDS):
        for j, t in enumerate(HOURS):
            c = conc(t, k)
            rows.append({"ID": int(sid), "ARMCD": ARM_OF[sid], "TIME": t, "CMT": 2, "DV": c * (1 + 0.05 * ((j % 3) - 1)),
                         "BLQ": 0, "PRED": c * 0.9, "IPRED": c, "CWRES": 0.4 * ((j + k) % 5 - 2)})
            igg = 10.0 * (1 - 0.6 * (1 - np.exp(-t / 150.0)))
            rows.append({"ID": int(sid), "ARMCD": ARM_OF[sid], "TIME": t, "CMT": 3, "DV": igg * 1.02, "BLQ": 0,
                         "PRED": igg * 1.05, "IPRED": igg, "CWRES": 0.3 * ((j + 2 * k) % 5 - 2)})
        rows.append({"ID": int(sid), "ARMCD": ARM_OF[sid], "TIME": 1000.0, "CMT": 2, "DV": np.nan, "BLQ": 1,
                     "PRED": 0.01, "IPRED": 0.01, "CWRES": np.nan})
    return pd.DataFrame(rows)


def individual_inputs(cmt):
    pred = predictions()
    obs = pred[["ID", "TIME", "CMT", "DV", "BLQ"]].copy()
    obs["LLOQ"] = np.where(obs["CMT"] == 2, 0.05, np.nan)
    grid = np.arange(0.0, 700.0, 12.0)
    curves = pd.concat(
        [pd.DataFrame({"ID": sid, "TIME": grid, "CMT": cmt,
                       "IPRED": conc(grid, k) if cmt == 2 else 10 - 6 * (1 - np.exp(-grid / 150.0)),
                       "PRED": 0.9 * conc(grid, k) if cmt == 2 else 10 - 5 * (1 - np.exp(-grid / 150.0))})
         for k, sid in enumerate(IDS)],
        ignore_index=True,
    )
    id_map = pd.DataFrame({"ID": [int(i) for i in IDS], "USUBJID": [f"ST-01-00{i}" for i in IDS],
                           "ARMCD": [ARM_OF[i] for i in IDS]})
    dosing = pd.DataFrame({"ID": np.repeat([int(i) for i in IDS], 4), "TIME": np.tile([0.0, 168.0, 336.0, 504.0], 4)})
    return obs, curves, id_map, dosing


def vpc_inputs():
    rng = np.random.default_rng(5)
    obs = pd.DataFrame({"ID": np.repeat(IDS, 4), "TIME": np.tile([6.0, 24.0, 168.0, 336.0], 4)})
    obs["BIN"] = obs["TIME"]
    obs["DV"] = 20.0 * np.exp(-obs["TIME"] / 400.0) * np.exp(0.2 * rng.standard_normal(len(obs)))
    obs["BLQ"] = 0
    obs["LLOQ"] = 0.05
    sim = obs["DV"].to_numpy()[None, :] * np.exp(0.3 * rng.standard_normal((20, len(obs))))
    return vpc_summary(obs, sim, "concentration"), obs


REGIMENS = [
    {"name": "340 mg QW x4", "doses": [{"mg": 340, "days": [1, 8, 15, 22]}]},
    {"name": "680 mg QW x4", "doses": [{"mg": 680, "days": [1, 8, 15, 22]}]},
    {"name": "680 mg QW x4 then 340 mg Q2W", "doses": [{"mg": 680, "days": [1, 8, 15, 22]},
                                                       {"mg": 340, "days": [36, 50]}]},
]


def regimen_inputs():
    days = np.arange(0.0, 120.0, 0.5)
    frames = []
    for k, r in enumerate(REGIMENS):
        med = 100 - (50 + 10 * k) * np.sin(np.pi * np.minimum(days, 100) / 100) ** 0.5
        frames.append(pd.DataFrame({"regimen": r["name"], "day": days, "pct_median": med, "pct_median_lo": med - 3,
                                    "pct_median_hi": med + 3, "pct_p05": med - 8, "pct_p95": med + 8, "pct_mean": med}))
    table = pd.DataFrame({"regimen": [r["name"] for r in REGIMENS], "n_trials": 20, "subjects_per_trial": 50,
                          "uncertainty": "bootstrap replicates (20 usable of 20)"})
    return pd.concat(frames, ignore_index=True), table


BUILDERS = {
    "gof_pk": lambda: P.plot_gof(predictions(), ARMS, 2, model="sc1cmt_mm", data_cut=CUT),
    "gof_igg": lambda: P.plot_gof(predictions(), ARMS, 3, model="igg_turnover", data_cut=CUT),
    "individual_pk": lambda: P.plot_individual_fits(*individual_inputs(2)[:3], ARMS, 2, individual_inputs(2)[3],
                                                    model="sc1cmt_mm", data_cut=CUT),
    "individual_igg": lambda: P.plot_individual_fits(*individual_inputs(3)[:3], ARMS, 3, individual_inputs(3)[3],
                                                     model="igg_turnover", data_cut=CUT),
    "eta": lambda: P.plot_eta(
        pd.DataFrame({"ID": IDS, "ARMCD": [ARM_OF[i] for i in IDS], "ETA_CL": [0.3, -0.1, 0.05, -0.25],
                      "ETA_IgG0": [0.1, -0.05, 0.0, 0.02]}),
        {"ETA_CL": ("PK", 0.09), "ETA_IgG0": ("PD", 0.01), "ETA_V": ("PK", 0.04)},  # no ETA_V column: skipped
        ARMS, data_cut=CUT),
    "vpc": lambda: P.plot_vpc(*vpc_inputs(), title="VPC", ylabel="Concentration (mg/L)", log=True, n_subjects=4,
                              dosing_days=[1, 8, 15, 22], data_cut=CUT),
    "regimens": lambda: P.plot_regimens(*regimen_inputs(), REGIMENS, data_cut=CUT),
}
# artists (by gid) every figure must contain
EXPECTED_GIDS = {
    "gof_pk": {"points-0", "points-1", "points-2", "points-3", "identity-0", "identity-1"},
    "gof_igg": {"points-0", "identity-1", "trend-2"},
    "individual_pk": {f"{w}-{i}" for w in ("ipred", "pred", "obs") for i in IDS},
    "individual_igg": {f"{w}-{i}" for w in ("ipred", "pred", "obs") for i in IDS},
    "eta": {"hist-ETA_CL", "density-ETA_CL", "strip-ETA_CL", "hist-ETA_IgG0", "strip-ETA_IgG0"},
    "vpc": {"observations", "pi-05", "pi-50", "pi-95"},
    "regimens": {f"{w}-{k}" for w in ("pi", "uband", "median", "doses", "regimen") for k in range(3)},
}


def gids(fig: Figure) -> set[str]:
    return {a.get_gid() for a in fig.findobj() if a.get_gid()}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_figure_content_and_byte_identical_files(name, tmp_path):
    fig = BUILDERS[name]()
    assert isinstance(fig, Figure)
    missing = EXPECTED_GIDS[name] - gids(fig)
    assert not missing, f"{name}: missing {sorted(missing)}"
    texts = " ".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))
    assert CUT in texts
    a, b = tmp_path / "a", tmp_path / "b"
    save(fig, a / "f.png", a / "f.svg")
    save(BUILDERS[name](), b / "f.png", b / "f.svg")  # a new figure from the same input
    assert (a / "f.png").read_bytes() == (b / "f.png").read_bytes()
    assert (a / "f.svg").read_bytes() == (b / "f.svg").read_bytes()
    with Image.open(a / "f.png") as im:
        assert im.info.get("dpi", (0, 0))[0] == pytest.approx(300, abs=1)
    svg = (a / "f.svg").read_text()
    assert str(tmp_path) not in svg and "<dc:date>" not in svg


def test_individual_fits_layout_and_blq():
    obs, curves, id_map, dosing = individual_inputs(2)
    fig = P.plot_individual_fits(obs, curves, id_map, ARMS, 2, dosing, model="m", data_cut=CUT)
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_title(loc="left")]
    assert len(panels) == 4  # one per subject
    assert all(ax.get_yscale() == "log" for ax in panels)
    assert {f"blq-{i}" for i in IDS} <= gids(fig)  # BLQ records drawn at LLOQ/2


def test_drug_name_in_labels_comes_from_config_treatment():
    obs, curves, id_map, dosing = individual_inputs(2)
    fig = P.plot_individual_fits(obs, curves, id_map, ARMS, 2, dosing, model="m", data_cut=CUT, treatment="EFGARTIGIMOD")
    texts = {ax.get_ylabel() for ax in fig.axes} | {t.get_text() for lg in fig.legends for t in lg.get_texts()}
    texts |= {t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()}
    assert "Efgartigimod concentration (mg/L)" in texts and "Efgartigimod dose" in texts
    assert not any("atoclimab" in t for t in texts)
    assert P.endpoint_style(2, "BATOCLIMAB")["label"] == "Batoclimab concentration (mg/L)"


def test_vpc_figure_draws_observed_percentiles():
    table, obs = vpc_inputs()
    fig = P.plot_vpc(table, obs, title="VPC", ylabel="y", log=False, n_subjects=4, data_cut=CUT)
    ax = next(ax for ax in fig.axes if "observations" in {c.get_gid() for c in ax.collections})
    ys = [ln.get_ydata() for ln in ax.get_lines() if len(ln.get_xdata()) == len(table)]
    medians = [y for y in ys if np.allclose(np.asarray(y, float), table.sort_values("time_day")["obs_p50"])]
    assert medians, "observed median line missing"


def test_vpc_figure_one_panel_per_stratum_with_the_percentiles_and_why():
    _, obs = vpc_inputs()
    obs = obs.assign(STRATUM=np.where(obs["ID"].isin(["1", "4"]), "340 mg", "680 mg"),
                     STRATUM_VALUE=np.where(obs["ID"].isin(["1", "4"]), 340.0, 680.0))
    sim = obs["DV"].to_numpy()[None, :] * np.exp(0.3 * np.random.default_rng(1).standard_normal((20, len(obs))))
    table = vpc_summary(obs, sim, "concentration", levels=(10, 50, 90))
    why = "auto: the smallest bin holds 2 observation(s), fewer than 20"
    fig = P.plot_vpc(table, obs, title="VPC", ylabel="y", log=True, n_subjects=4, data_cut=CUT, levels=(10, 50, 90),
                     percentile_reason=why, stratify_on="DOSE")
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert titles == ["340 mg (N = 2)", "680 mg (N = 2)"]
    assert {"observations", "pi-10", "pi-50", "pi-90", "observed-p50", "observations-1", "pi-90-1"} <= gids(fig)
    texts = " ".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))
    assert "Observed 10th/90th percentiles" in texts and "95% PI of simulated 10th/90th percentiles" in texts
    assert "Percentiles 10/50/90: " + why in texts.replace("\n", " ")
    assert "strata by DOSE" in texts


def test_regimen_figure_labels_the_uncertainty_band_and_the_prediction_interval():
    fig = P.plot_regimens(*regimen_inputs(), REGIMENS, data_cut=CUT)
    texts = " ".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))).replace("\n", " ")
    assert "Uncertainty of the median: 5th-95th percentiles across 20 trials" in texts
    assert "Between-subject 90% prediction interval" in texts
    assert "20 simulated trials x 50 virtual subjects" in texts and "bootstrap replicates" in texts
    ax = next(a for a in fig.axes if a.get_title(loc="left") == REGIMENS[0]["name"])
    bands = {c.get_gid(): c.get_paths()[0].vertices[:, 1] for c in ax.collections if c.get_gid()}
    # the uncertainty band (median +- 3 here) lies inside the between-subject interval (+- 8)
    assert bands["uband-0"].max() < bands["pi-0"].max() and bands["uband-0"].min() > bands["pi-0"].min()
