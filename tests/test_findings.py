"""Published findings: one data file (resources/published_findings.yaml), one evaluator, read by
both the published-vs-reproduced table and the simulator's calibration."""

from __future__ import annotations

import math

import pytest
import yaml
from conftest import REFERENCE_RAW, ROOT
from test_stats_adam import ARMS, ARMS_CFG
from test_stats_published import DOSING_DAYS, _edss_paper_n7, _paper_like_rest

from fcrnpipe.errors import UserError
from fcrnpipe.findings import DEFAULT_PATH, KINDS, evaluate, load_findings
from fcrnpipe.simulate.findings import calibration_table, read_raw
from fcrnpipe.stats import gather_endpoints, published_vs_reproduced
from fcrnpipe.units import load_unit_table


def test_the_shipped_file_is_the_default_and_complete():
    assert DEFAULT_PATH == ROOT / "resources" / "published_findings.yaml"
    f = load_findings()
    assert {"enrolled", "igg_week1", "aqp4_undetectable_week3", "edss_baseline", "cholesterol_week4"} <= set(f)
    for finding in f.values():
        for c in (finding.check, finding.calibration):
            assert not c or c["kind"] in KINDS
    assert f["igg_followup"].published_text() == "~80% of baseline (75-90%)"
    assert f["igg_nadir_at_last_dose"].calibration_check == {"kind": "above", "value": -3.0}
    assert f["igg_week1"].calibration_check == f["igg_week1"].check  # no calibration of its own


@pytest.mark.parametrize(
    "check, value, holds",
    [
        ({"kind": "equal", "value": 2}, 2.0, True),
        ({"kind": "equal", "value": 0}, math.nan, False),
        ({"kind": "below", "value": 0.05}, 0.05, False),
        ({"kind": "above", "value": -3.0}, -2.9, True),
        ({"kind": "at_most", "value": 1.0}, 1.0, True),
        ({"kind": "range", "low": 75, "high": 90}, 74.99, False),
        ({"kind": "span", "low": 32, "high": 320}, (32, 320), True),
        ({"kind": "fraction", "k": 6, "n": 7}, (6, 8), False),
        ({"kind": "fraction", "k": 6, "n": 7}, (None, None), False),
        ({"kind": "counts", "by_dose_mg": {340: 2, 680: 7}}, {340.0: 2, 680.0: 7}, True),
        ({"kind": "counts", "by_dose_mg": {340: 2, 680: 7}}, {0.0: 2, 680.0: 7}, False),
        ({"kind": "counts", "by_value": {"MYELITIS": 5}}, {"MYELITIS": 5}, True),
        ({"kind": "mean_sd", "mean": 4.0, "sd": 1.0, "mean_tolerance": 0.15, "sd_tolerance": 0.3}, (4.14, 1.29), True),
        ({"kind": "mean_sd", "mean": 4.0, "sd": 1.0, "mean_tolerance": 0.15, "sd_tolerance": 0.3}, (4.2, 1.0), False),
        ({"kind": "mean_sd", "mean": 4.0, "sd": 1.0, "decimals": 1}, (4.06, 1.0), False),
        ({"kind": "mean_sd", "mean": 4.0, "sd": 1.0, "decimals": 1}, (math.nan, 1.0), False),
    ],
)
def test_evaluator(check, value, holds):
    assert evaluate(check, value) is holds


def test_bad_files_are_user_errors(tmp_path):
    p = tmp_path / "f.yaml"
    p.write_text(yaml.safe_dump({"findings": [{"id": "x", "finding": "X", "source": "s", "published": "p",
                                                "check": {"kind": "roughly", "value": 1}}]}))
    with pytest.raises(UserError, match="unknown check kind"):
        load_findings(p)
    p.write_text(yaml.safe_dump({"findings": [{"id": "x", "finding": "X", "source": "s", "published": "p"}]}))
    with pytest.raises(UserError, match="lacks a check"):
        load_findings(p)
    with pytest.raises(UserError, match="not found"):
        load_findings(tmp_path / "missing.yaml")


def test_one_number_in_the_file_moves_both_consumers(tmp_path, config):
    """Tightening the week-1 IgG target in the data file fails the finding both in the
    published-vs-reproduced table and in the simulator's calibration."""
    doc = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    for f in doc["findings"]:
        if f["id"] == "igg_week1":
            f["check"]["value"] = -99
            f["published"] = "> 99% reduction"
    path = tmp_path / "published_findings.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    findings = load_findings(path)

    endpoints = gather_endpoints([_edss_paper_n7(), _paper_like_rest()], ARMS, config["visits"])
    shipped = published_vs_reproduced(endpoints, ARMS_CFG, config["visits"], DOSING_DAYS, 4, 12)
    moved = published_vs_reproduced(endpoints, ARMS_CFG, config["visits"], DOSING_DAYS, 4, 12, findings=findings)
    label = "Mean total IgG reduction at week 1 (680 mg)"
    assert shipped.set_index("finding").loc[label, "holds"]
    row = moved.set_index("finding").loc[label]
    assert not row["holds"] and row["published"] == "> 99% reduction" and row["criterion"].endswith("< -99")

    raw, units = read_raw(REFERENCE_RAW), load_unit_table(ROOT / "resources" / "units.csv")
    label = "680 mg: mean IgG change week 1 (%)"
    assert calibration_table(raw, units).set_index("finding").loc[label, "holds"]
    row = calibration_table(raw, units, findings=findings).set_index("finding").loc[label]
    assert not row["holds"] and row["target"] == "< -99 (assumption)"
