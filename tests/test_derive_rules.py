"""End-to-end: the derive rules on the 3-subject cut (Snakemake), rerun closure of the stage."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from conftest import ADAM, copy_run
from cutfactory import valid_cut_frames, write_cut
from pipeline import planned_jobs, snakemake


def _targets(res):
    return [str(res / "adam" / f"{n}.{ext}") for n in ADAM for ext in ("parquet", "csv")]


@pytest.mark.e2e
def test_e2e_derive_stage_runs_and_reruns_only_what_changed(valid_cut_run, tmp_path):
    # the session's run of the stage (--cores 2) itself, for dry runs only: a changed parameter is
    # noticed from Snakemake's records of the run, which are kept per output path (not in a copy)
    raw, res = valid_cut_run / "raw", valid_cut_run / "results"
    adsl = pd.read_csv(res / "adam" / "adsl.csv", dtype=str, keep_default_na=False)
    assert adsl["USUBJID"].tolist() == ["BATO-101-001", "BATO-101-002", "BATO-102-003"]
    assert adsl["TRTSDTM"].tolist()[0] == "2022-03-01T09:00:00" and adsl["SAFFL"].tolist() == ["Y"] * 3
    adlb = pd.read_parquet(res / "adam" / "adlb.parquet")
    assert len(adlb) == 36 and str(adlb["ADTM"].dtype).startswith("datetime64")
    for name in ADAM:  # the rule log exists and holds no error
        assert "ERROR" not in (valid_cut_run / "logs" / "derive" / f"derive_{name}.log").read_text()

    again = snakemake("-n", "--cores", "1", *_targets(res), results=res, raw=raw)
    assert "Nothing to be done" in again.stdout + again.stderr

    # a changed titre censoring rule reruns ADLB only
    dry = snakemake(
        "-n", "--cores", "1", *_targets(res), results=res, raw=raw, extra_config=("censoring={titre: zero}",)
    )
    assert planned_jobs(dry) == {"derive": 1}
    assert re.findall(r"wildcards: dataset=(\w+)", dry.stdout) == ["adlb"]

    # a changed AE export reruns its check, the report, its gate and ADAE only (in a copy of the run)
    raw, res = copy_run(valid_cut_run, tmp_path)
    ae = valid_cut_frames()["ae"]
    ae.loc[0, "AETOXGR"] = "2"
    write_cut({"ae": ae}, raw)
    dry = snakemake("-n", "--cores", "1", *_targets(res), results=res, raw=raw)
    assert planned_jobs(dry) == {"check_domain": 1, "validation_report": 1, "validated": 1, "derive": 1}
    assert re.findall(r"wildcards: dataset=(\w+)", dry.stdout) == ["adae"]
