"""Unit tests of the provenance library (ledger, manifest, data-change report)."""

from __future__ import annotations

import hashlib
import json

import pandas as pd

from fcrnpipe import provenance as prov

LOG = """Building DAG of jobs...
[Wed Nov 25 07:06:11 2026]
rule check_domain:
    input: raw/ae.csv, raw/dm.csv
    output: results/validation/checks/ae.parquet, results/validation/checks/ae.failures.csv
    log: logs/validation/ae.log
    jobid: 7
    reason: Updated input files: raw/ae.csv
    wildcards: domain=ae
    resources: tmpdir=/tmp
[Wed Nov 25 07:06:12 2026]
Finished jobid: 7 (Rule: check_domain)
[Wed Nov 25 07:06:12 2026]
localrule derive:
    input: results/validation/ae.parquet
    output: results/adam/adae.parquet
    jobid: 3
    reason: Input files updated by another job: results/validation/ae.parquet
    wildcards: dataset=adae
    resources: tmpdir=/tmp
"""


def test_parse_snakemake_log_reads_rule_reason_outputs_and_completion():
    jobs = prov.parse_snakemake_log(LOG)
    assert [j.jobid for j in jobs] == [3, 7]
    derive, check = jobs
    assert check.rule == "check_domain"
    assert check.reason == "Updated input files: raw/ae.csv"
    assert check.output == ["results/validation/checks/ae.parquet", "results/validation/checks/ae.failures.csv"]
    assert check.wildcards == "domain=ae"
    assert check.finished is True
    assert derive.rule == "derive" and derive.wildcards == "dataset=adae" and derive.finished is False


def test_sha256_and_hash_tree_with_excludes(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"x,y\n1,2\n")
    (tmp_path / "provenance" / "inputs").mkdir(parents=True)
    (tmp_path / "provenance" / "runs.jsonl").write_text("{}\n")
    (tmp_path / "provenance" / "inputs" / "abc.csv").write_text("old")
    (tmp_path / "provenance" / "manifest.csv").write_text("m")
    tree = prov.hash_tree(tmp_path, exclude=prov.ledger_excludes())
    assert tree == {
        "a.csv": hashlib.sha256(b"x,y\n1,2\n").hexdigest(),
        "provenance/manifest.csv": hashlib.sha256(b"m").hexdigest(),
    }


def test_analysis_config_hash_ignores_folder_locations():
    a = {"raw_dir": "a/raw", "results_dir": "/tmp/x", "logs_dir": "l1", "seeds": {"bootstrap": 1}}
    b = {"raw_dir": "b/raw", "results_dir": "/tmp/y", "logs_dir": "l2", "seeds": {"bootstrap": 1}}
    assert prov.analysis_config_hash(a) == prov.analysis_config_hash(b)
    assert prov.config_hash(a) != prov.config_hash(b)
    assert prov.analysis_config_hash(a) != prov.analysis_config_hash({**a, "seeds": {"bootstrap": 2}})
    assert prov.analysis_config_hash(a) == prov.config_hash({"seeds": {"bootstrap": 1}})


def test_config_hash_ignores_key_order():
    assert prov.config_hash({"a": 1, "b": [1, 2]}) == prov.config_hash({"b": [1, 2], "a": 1})
    assert prov.config_hash({"a": 1}) != prov.config_hash({"a": 2})


def test_diff_domain_reports_added_removed_and_changed_cells():
    old = pd.DataFrame({"USUBJID": ["S1", "S1", "S2"], "AESEQ": ["1", "2", "1"],
                        "AETERM": ["Headache", "Rash", "Nausea"], "AETOXGR": ["1", "1", "2"]})
    new = pd.DataFrame({"USUBJID": ["S1", "S2", "S3"], "AESEQ": ["1", "1", "1"],
                        "AETERM": ["Headache", "Nausea", "Fever"], "AETOXGR": ["2", "2", "1"]})
    d = prov.diff_domain("ae", "ae.csv", old, new)
    rows = {(r.change, r.key, r.column, r.old, r.new) for r in d.itertuples()}
    assert rows == {
        ("cell changed", "USUBJID=S1 AESEQ=1", "AETOXGR", "1", "2"),
        ("row added", "USUBJID=S3 AESEQ=1", "", "", ""),
        ("row removed", "USUBJID=S1 AESEQ=2", "", "", ""),
    }
    assert set(d["domain"]) == {"ae"} and set(d["file"]) == {"ae.csv"}


def test_diff_domain_uses_fallback_key_when_natural_key_repeats():
    # two results of the same test at the same date-time: LBSEQ disambiguates
    old = pd.DataFrame({"USUBJID": ["S1", "S1"], "LBSEQ": ["1", "2"], "LBTESTCD": ["IGG", "IGG"],
                        "LBDTC": ["2021-01-01T08:00"] * 2, "LBORRES": ["9.8", "9.9"]})
    new = old.copy()
    new.loc[1, "LBORRES"] = "9.7"
    d = prov.diff_domain("lb", "lb.csv", old, new)
    assert list(d["key"]) == ["USUBJID=S1 LBSEQ=2"]
    assert list(d["old"]) == ["9.9"] and list(d["new"]) == ["9.7"]


def test_diff_domain_column_changes():
    old = pd.DataFrame({"USUBJID": ["S1"], "AGE": ["40"]})
    new = pd.DataFrame({"USUBJID": ["S1"], "AGE": ["40"], "RACE": ["ASIAN"]})
    d = prov.diff_domain("dm", "dm.csv", old, new)
    assert list(d["change"]) == ["column added"] and list(d["column"]) == ["RACE"]


def test_changed_outputs():
    d = prov.changed_outputs({"a": "1", "b": "2", "c": "3"}, {"a": "1", "b": "9", "d": "4"})
    assert list(zip(d["file"], d["change"])) == [("b", "output changed"), ("c", "output removed"),
                                                 ("d", "output added")]


def test_data_change_report_against_archived_previous_cut(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "ae.csv").write_text("USUBJID,AESEQ,AETERM\nS1,1,Headache\n")
    (raw / "dm.csv").write_text("USUBJID,AGE\nS1,40\n")
    store = tmp_path / "store"
    hashes = prov.archive_inputs(raw, ["dm", "ae"], store)
    previous = {"outcome": "success", "raw_inputs": hashes,
                "outputs": {"adam/adae.csv": "h1", "adam/adsl.csv": "h2", "provenance/manifest.csv": "h3"}}
    assert prov.data_change_report(previous=previous, raw_dir=raw, domains=["dm", "ae"], store=store,
                                   current_outputs=previous["outputs"]).empty
    (raw / "ae.csv").write_text("USUBJID,AESEQ,AETERM\nS1,1,Migraine\n")
    rep = prov.data_change_report(previous=previous, raw_dir=raw, domains=["dm", "ae"], store=store,
                                  current_outputs={"adam/adae.csv": "h9", "adam/adsl.csv": "h2"})
    # the provenance stage's own files (absent from the current tree when compared) are not changes
    assert list(rep.columns) == prov.DATA_CHANGE_COLUMNS
    cells = rep[rep["change"] == "cell changed"]
    assert list(zip(cells["column"], cells["old"], cells["new"])) == [("AETERM", "Headache", "Migraine")]
    outs = rep[rep["change"].str.startswith("output")]
    assert list(outs["file"]) == ["adam/adae.csv"]


def test_ledger_roundtrip_and_last_success(tmp_path):
    path = tmp_path / "runs.jsonl"
    prov.append_ledger(path, {"run_id": "1", "outcome": "success"})
    prov.append_ledger(path, {"run_id": "2", "outcome": "failure"})
    recs = prov.read_ledger(path)
    assert [r["run_id"] for r in recs] == ["1", "2"]
    assert prov.last_successful_run(recs)["run_id"] == "1"
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_metadata_path_matches_snakemake_layout(tmp_path):
    short = prov.metadata_path(tmp_path, "a.txt")
    assert short.name == "YS50eHQ="
    long_name = "results/" + "x" * 400 + ".csv"
    p = prov.metadata_path(tmp_path, long_name)
    parts = p.relative_to(tmp_path).parts
    assert len(parts) == 3 and all(part.startswith("@") for part in parts[:-1])


def test_brthdtc_never_reaches_the_input_archive_or_the_change_report(tmp_path):
    """BRTHDTC is read (validation) and never written: the archived DM has no such column and a
    changed birth date is not a data change."""
    from fcrnpipe.provenance import archive_inputs, data_change_report

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "dm.csv").write_text("USUBJID,AGE,BRTHDTC\nS1,40,1981-03\nS2,35,1987\n", encoding="utf-8")
    (raw / "ae.csv").write_text("USUBJID,AESEQ\nS1,1\n", encoding="utf-8")
    store = tmp_path / "store"
    hashes = archive_inputs(raw, ["dm", "ae"], store)
    stored = {p.name: p.read_text(encoding="utf-8") for p in store.iterdir()}
    assert stored[f"{hashes['dm.csv']}.csv"] == "USUBJID,AGE\nS1,40\nS2,35\n"
    assert stored[f"{hashes['ae.csv']}.csv"] == "USUBJID,AESEQ\nS1,1\n"  # copied byte for byte
    assert not any("1981" in text for text in stored.values())
    (raw / "dm.csv").write_text("USUBJID,AGE,BRTHDTC\nS1,40,1980-03\nS2,36,1987\n", encoding="utf-8")
    changes = data_change_report(previous={"raw_inputs": hashes, "outputs": {}}, raw_dir=raw, domains=["dm", "ae"],
                                 store=store, current_outputs={})  # fmt: skip
    assert changes[["change", "column", "old", "new"]].values.tolist() == [["cell changed", "AGE", "35", "36"]]
