"""End to end: the whole pipeline on (a copy of) the reference study.

One session run (``reference_run``) is shared by these tests; the data cut is copied to a
temporary folder so that tests can rewrite exports without touching the repository.
"""

from __future__ import annotations

import json
import re
import time

import pandas as pd
import pytest

from pipeline import LEDGER, planned_jobs, snakemake, tree_hashes

pytestmark = pytest.mark.e2e


def test_all_stage_outputs_exist(reference_run):
    res = reference_run["results"]
    for rel in [
        "validation/report.html", "validation/failures.csv",
        "adam/adsl.parquet", "adam/adsl.csv", "adam/adlb.parquet", "adam/adpc.parquet", "adam/adex.parquet",
        "adam/adedss.parquet", "adam/adae.parquet",
        "pk/nca.csv", "stats/endpoints.csv", "tables/published_vs_reproduced.csv",
        "figures/igg_pct_baseline.png", "figures/igg_pct_baseline.svg",
        "provenance/manifest.csv", "provenance/runs.jsonl", "provenance/data_changes.csv",
    ]:  # fmt: skip
        assert (res / rel).is_file(), rel
    assert pd.read_csv(res / "validation" / "failures.csv").empty


def test_published_findings_hold_on_the_reference_study(reference_run):
    table = pd.read_csv(reference_run["results"] / "tables" / "published_vs_reproduced.csv")
    failing = table.loc[~table["holds"].astype(bool), ["finding", "reproduced"]]
    assert failing.empty, failing.to_string()
    assert len(table) >= 12


def test_published_findings_can_be_read_off_the_adam_datasets(reference_run):
    res = reference_run["results"]
    adsl = pd.read_parquet(res / "adam" / "adsl.parquet")
    adlb = pd.read_parquet(res / "adam" / "adlb.parquet")
    adae = pd.read_parquet(res / "adam" / "adae.parquet")
    assert adsl.groupby("ARMCD").size().to_dict() == {"BATO340": 2, "BATO680": 7}
    igg = adlb[(adlb.PARAMCD == "IGG") & (adlb.ANL01FL == "Y") & (adlb.ARMCD == "BATO680")]
    wk = igg.groupby("AVISITN")["PCHG"].mean()
    assert wk[1] < -50 and wk[3] < -70
    assert 75 <= 100 + wk[12] <= 90
    aqp = adlb[(adlb.PARAMCD == "AQP4AB") & (adlb.AVISITN == 3) & (adlb.ANL01FL == "Y")]
    assert (aqp.UNDETFL == "Y").sum() == 6 and len(aqp) == 7
    assert (adsl.DCTREAS == "WITHDRAWAL BY SUBJECT").sum() == 1
    disc = adae[(adae.DISCFL == "Y") & (adae.TRTEMFL == "Y")]
    assert disc.AEDECOD.str.contains("albumin", case=False).sum() == 2
    assert (adae.AESER == "Y").sum() == 0


def test_second_run_has_nothing_to_do(reference_run):
    proc = snakemake("--cores", "2", "-n", results=reference_run["results"], raw=reference_run["raw"])
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_a_param_of_some_tables_reruns_only_those_tables_and_figures(reference_run):
    """The generic rules `table` and `figure` keep per-job params: the label of the overall
    column is a param of the eleven ARD tables and of two figures, not of the others."""
    dry = snakemake("--cores", "1", "-n", results=reference_run["results"], raw=reference_run["raw"],
                    extra_config=("study={overall_label: All doses}",))
    assert set(planned_jobs(dry)) == {"table", "figure", "provenance", "all"}
    assert set(re.findall(r"wildcards: name=(\w+)", dry.stdout)) == {
        "demographics", "disposition", "exposure", "teae_overview", "teae_soc_pt", "lab_shift", "albumin",
        "cholesterol", "igg", "aqp4", "edss", "edss_paired", "disposition_flow"}


def test_rewriting_an_export_with_identical_content_reruns_nothing(reference_run):
    raw = reference_run["raw"]
    for name in ("ae.csv", "lb.csv", "dm.csv"):
        data = (raw / name).read_bytes()
        time.sleep(0.01)
        (raw / name).write_bytes(data)  # new modification time, same content
    proc = snakemake("--cores", "2", "-n", results=reference_run["results"], raw=raw)
    assert planned_jobs(proc) == {}, proc.stdout[-2000:]


def test_ledger_records_the_run_with_jobs_reasons_and_hashes(reference_run):
    ledger = [json.loads(line) for line in
              (reference_run["results"] / "provenance" / "runs.jsonl").read_text().splitlines()]
    rec = ledger[0]
    assert rec["outcome"] == "success"
    assert set(rec["raw_inputs"]) == {f"{d}.csv" for d in ("dm", "ex", "vs", "lb", "pc", "qs", "ae", "ds")}
    rules = {j["rule"] for j in rec["jobs"]}
    assert {"check_domain", "derive", "nca", "stats_endpoints", "provenance"} <= rules
    assert all(j["reason"] for j in rec["jobs"] if j["rule"] != "all")
    assert "adam/adsl.parquet" in rec["outputs"] and len(rec["outputs"]["adam/adsl.parquet"]) == 64
    assert rec["git"]["commit"] and rec["config_sha256"] and rec["software"]["snakemake"]


def test_manifest_names_rule_and_input_hashes(reference_run):
    manifest = pd.read_csv(reference_run["results"] / "provenance" / "manifest.csv")
    row = manifest.set_index("output").loc["results/adam/adae.parquet"]
    assert row["rule"] == "derive"
    assert "results/validation/ae.parquet=" in row["inputs"]
    assert (manifest["rule"].fillna("") != "").all()


def test_corrected_ae_export_reruns_only_the_ae_closure_and_reports_the_change(reference_run):
    raw, res = reference_run["raw"], reference_run["results"]
    ae = pd.read_csv(raw / "ae.csv", dtype=str, keep_default_na=False)
    row = ae.index[ae["AEDECOD"] == "Headache"][0]
    old_term = ae.at[row, "AETERM"]
    ae.at[row, "AETERM"] = "tension headache"
    ae.to_csv(raw / "ae.csv", index=False, lineterminator="\n")
    dry = snakemake("--cores", "2", "-n", results=res, raw=raw)
    planned = planned_jobs(dry)
    assert planned.get("check_domain") == 1 and planned.get("validated") == 1
    assert planned.get("derive") == 1 and planned.get("stats_part") == 1 and "provenance" in planned
    # the generic rules `derive`, `stats_part`, `table` and `figure` rerun only the dataset, part,
    # tables and figures of the AE closure
    assert set(re.findall(r"wildcards: dataset=(\w+)", dry.stdout)) == {"adae"}
    assert set(re.findall(r"wildcards: part=(\w+)", dry.stdout)) == {"ae"}
    assert set(re.findall(r"wildcards: name=(\w+)", dry.stdout)) == {
        "teae_overview", "teae_soc_pt", "published_vs_reproduced", "ae_swimmer"}
    untouched = [r for r in planned if r.startswith(("nca", "fit_", "pkpd", "bootstrap", "vpc"))]
    assert not untouched, f"jobs outside the AE closure would rerun: {untouched}"
    before = tree_hashes(res, LEDGER)
    snakemake("--cores", "2", results=res, raw=raw)
    after = tree_hashes(res, LEDGER)
    assert before["adam/adsl.parquet"] == after["adam/adsl.parquet"]
    assert before["adam/adae.parquet"] != after["adam/adae.parquet"]
    changes = pd.read_csv(res / "provenance" / "data_changes.csv", dtype=str, keep_default_na=False)
    cell = changes[changes["change"] == "cell changed"]
    assert list(zip(cell["file"], cell["column"], cell["old"], cell["new"])) == [
        ("ae.csv", "AETERM", old_term, "tension headache")]
    outs = set(changes.loc[changes["change"].str.startswith("output"), "file"])
    assert "adam/adae.parquet" in outs and "adam/adsl.parquet" not in outs
    assert not any(f.startswith("provenance/") for f in outs), outs
    ledger = (res / "provenance" / "runs.jsonl").read_text().splitlines()
    last = json.loads(ledger[-1])
    assert any(j["rule"] == "check_domain" and "ae.csv" in j["reason"] for j in last["jobs"])
    # the previous version of the export is kept in the content-addressed store
    first = json.loads(ledger[0])
    assert (res / "provenance" / "inputs" / f"{first['raw_inputs']['ae.csv']}.csv").is_file()


def test_killed_one_core_run_resumes_to_the_bytes_of_the_clean_two_core_run(reference_run, killed_run):
    """A ``--cores 1`` run, SIGKILLed mid-DAG, ``--unlock``, resumed with ``--cores 1``
    (``--rerun-incomplete`` from the profile): every output has the same bytes as the session's
    clean ``--cores 2`` run -- so neither the number of cores nor an interruption changes a
    result. A concurrent second run in the same folder is refused by Snakemake's lock.
    (One run instead of a separate clean ``--cores 1`` run: the resume does almost the whole DAG.
    It runs in the background from the start of the session: ``killed_run``, tests/pipeline.py.)"""
    # a second run in the same directory on the same outputs is refused by Snakemake's lock
    second = killed_run["locked"]
    assert second.returncode != 0
    assert "cannot be locked" in second.stdout, second.stdout[-3000:]
    assert killed_run["first_alive_after_second"], "the first run ended before it was killed"
    assert not killed_run["finished_before_kill"], "the run finished before it was killed"
    # the stale lock of a killed run is removed with --unlock; --rerun-incomplete is in the profile
    for step in ("unlock", "resume"):
        assert killed_run[step].returncode == 0, killed_run[step].stdout[-3000:]
    a, b = reference_run["hashes"], tree_hashes(killed_run["results"], LEDGER)
    differing = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    assert not differing, f"the resumed --cores 1 run differs from the clean --cores 2 run: {differing}"
    assert len(b) > 80


def test_summary_and_list_changes_work_on_a_finished_run(reference_run):
    """`--summary` lists every output with its rule and state; `--list-changes` runs for each kind."""
    proc = snakemake("--summary", results=reference_run["results"], raw=reference_run["raw"])
    lines = [line.split("\t") for line in proc.stdout.splitlines() if "\t" in line]
    header, rows = lines[0], {r[0]: r for r in lines[1:]}
    assert header[:3] == ["output_file", "date", "rule"]
    pop = str(reference_run["results"] / "pkpd" / "population_parameters.csv")
    assert rows[pop][2] == "pkpd_bootstrap_gather"
    for kind in ("code", "params", "input"):
        proc = snakemake("--list-changes", kind, results=reference_run["results"], raw=reference_run["raw"])
        assert proc.returncode == 0
