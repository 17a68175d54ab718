"""The validation stage as a whole: library entry points (check_domain, gate, build_report) and
end-to-end Snakemake runs (marked e2e) on good and broken data cuts."""

from __future__ import annotations

import re
import shutil
import subprocess

import pandas as pd
import pytest
from cutfactory import DOMAINS, SUBJECTS, make_valid_cut, valid_cut_frames, write_cut

from conftest import REFERENCE_RAW, ROOT, VENV_BIN, copy_run
from fcrnpipe.errors import UserError, ValidationFailed
from fcrnpipe.validation import (
    build_report,
    check_domain,
    gate,
    read_failures,
    study_params,
    write_failures,
)
from fcrnpipe.validation.failures import make_failures

UNITS = str(ROOT / "resources" / "units.csv")
STUDY = {
    "arms": ["BATO340", "BATO680"],
    "treatments": ["BATOCLIMAB", "METHYLPREDNISOLONE"],
    "treatment": "BATOCLIMAB",
    "screening_window_days": 42,
    "followup_grace_days": 30,
}
UNIT_DOMAINS = {"lb", "pc", "vs"}


def _check(raw_dir, domain, ext="csv"):
    path = raw_dir / f"{domain}.{ext}"
    return check_domain(
        domain,
        str(path) if path.exists() else None,
        str(raw_dir / f"{domain}.csv"),
        UNITS if domain in UNIT_DOMAINS else None,
        dm=str(raw_dir / f"dm.{ext}") if domain != "dm" else None,
        ex=str(raw_dir / f"ex.{ext}") if domain == "lb" else None,
        study=STUDY,
    )


# ----------------------------------------------------------------------------- library
@pytest.mark.parametrize("fmt", ["csv", "xpt"])
def test_valid_cut_checks_clean_and_typed(tmp_path, fmt):
    raw = make_valid_cut(tmp_path / "raw", fmt=fmt)
    for domain in DOMAINS:
        typed, failures = _check(raw, domain, fmt)
        assert failures.empty, (domain, failures.to_string())
        assert len(typed) == len(valid_cut_frames()[domain])
    typed, _ = _check(raw, "lb", fmt)
    assert typed["LBSEQ"].dtype == "float64" and typed["VISITNUM"].dtype == "float64"
    assert typed["LBORRES"].tolist()[:4] == ["10.2", "42", "4.8", "1:100"]
    assert typed["LBORNRLO"].tolist()[2] is None  # empty -> None, not ""
    typed, _ = _check(raw, "ex", fmt)
    assert typed["EXDOSE"].tolist()[:2] == [340.0, 1000.0]


def test_missing_export_is_a_file_missing_failure(tmp_path):
    raw = make_valid_cut(tmp_path / "raw")
    (raw / "pc.csv").unlink()
    typed, failures = _check(raw, "pc")
    assert typed.empty
    assert failures[["file", "check", "value"]].values.tolist() == [
        ["pc.csv", "file_missing", str(raw / "pc.csv")]
    ]
    assert "pc.xpt" in failures["message"].iloc[0]


def test_unreadable_dm_skips_the_cross_checks_of_other_domains(tmp_path):
    raw = make_valid_cut(tmp_path / "raw")
    (raw / "dm.csv").write_bytes("USUBJID;AGE\nS1;30\n".encode())
    _typed, failures = _check(raw, "ae")
    assert failures.empty
    _typed, failures = _check(raw, "dm")
    assert failures["check"].tolist() == ["wrong_delimiter"]


def test_bad_unit_table_is_a_user_error(tmp_path):
    bad = tmp_path / "units.csv"
    bad.write_text("domain,TESTCD\nLB,IGG\n", encoding="utf-8")
    raw = make_valid_cut(tmp_path / "raw")
    with pytest.raises(UserError, match="missing column"):
        check_domain(
            "lb", str(raw / "lb.csv"), str(raw / "lb.csv"), str(bad), dm=str(raw / "dm.csv"), study=STUDY
        )


def test_gate_message_and_sorted_output(tmp_path):
    raw = make_valid_cut(tmp_path / "raw")
    frames = valid_cut_frames()
    frames["ae"].loc[3, "AETOXGR"] = "9"
    frames["ae"].loc[1, "AESER"] = "?"
    write_cut({"ae": frames["ae"]}, raw)
    typed, failures = _check(raw, "ae")
    with pytest.raises(ValidationFailed) as info:
        gate("ae", typed, failures, "results/validation/report.html", "results/validation/failures.csv")
    assert str(info.value) == (
        "Validation failed for ae.csv: 2 error(s); see results/validation/report.html and "
        "results/validation/failures.csv. First: row 2, column AESER (controlled_term): AESER is '?': must be one of: "
        "Y, N, U, NA (any case)"
    )
    good, clean = _check(make_valid_cut(tmp_path / "good"), "ex")
    shuffled = good.sample(frac=1.0, random_state=3)
    out = gate("ex", shuffled, clean, "r.html", "f.csv")
    assert out[["USUBJID", "EXSEQ"]].values.tolist() == good[["USUBJID", "EXSEQ"]].values.tolist()
    assert out["EXSEQ"].tolist()[:6] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


def test_gate_message_for_file_level_problem():
    failures = make_failures(
        [{"file": "vs.csv", "check": "header_only", "message": "vs.csv has a header but no data rows"}]
    )
    with pytest.raises(
        ValidationFailed,
        match=r"Validation failed for vs.csv: 1 error\(s\); .* First: file "
        r"\(header_only\): vs.csv has a header but no data rows",
    ):
        gate("vs", pd.DataFrame(), failures, "report.html", "failures.csv")


def test_failures_csv_round_trip_keeps_values_verbatim(tmp_path):
    failures = make_failures(
        [
            {
                "file": "lb.csv",
                "row": 3,
                "column": "LBORRES",
                "check": "result_form",
                "value": "NA",
                "message": "m",
            },
            {
                "file": "lb.csv",
                "row": None,
                "column": "VISIT",
                "check": "required_column",
                "value": "",
                "message": "m",
            },
            {
                "file": "ae.csv",
                "row": 12,
                "column": "AESER",
                "check": "controlled_term",
                "value": "None",
                "message": "m",
            },
            {
                "file": "lb.csv",
                "row": 10,
                "column": "LBDTC",
                "check": "iso8601",
                "value": "x,y",
                "message": 'say "m"',
            },
        ]
    )
    path = tmp_path / "f.csv"
    write_failures(failures, path)
    assert path.read_text(encoding="utf-8").splitlines() == [
        "file,row,column,check,severity,value,message",
        "ae.csv,12,AESER,controlled_term,error,None,m",
        "lb.csv,,VISIT,required_column,error,,m",
        "lb.csv,3,LBORRES,result_form,error,NA,m",
        'lb.csv,10,LBDTC,iso8601,error,"x,y","say ""m"""',
    ]
    back = read_failures(path)
    assert back["value"].tolist() == ["None", "", "NA", "x,y"]
    assert back["row"].isna().tolist() == [False, True, False, False]


def test_report_is_deterministic_escaped_and_summarises_files(tmp_path):
    raw = make_valid_cut(tmp_path / "raw")
    results = {d: _check(raw, d) for d in DOMAINS}
    failures = {d: r[1] for d, r in results.items()}
    failures["ae"] = make_failures(
        [
            {
                "file": "ae.csv",
                "row": 2,
                "column": "AETERM",
                "check": "controlled_term",
                "value": "<script>alert(1)</script>",
                "message": "bad",
            }
        ]
    )
    typed = {d: r[0] for d, r in results.items()}
    files = {d: f"{d}.csv" for d in DOMAINS}
    merged, html = build_report(DOMAINS, files, typed, failures, data_cut="cut 1")
    _again, html2 = build_report(DOMAINS, files, typed, failures, data_cut="cut 1")
    assert html == html2
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert merged["file"].tolist() == ["ae.csv"]
    assert "FAIL: 1 error(s) in 1 of 8 export(s)" in html
    ae_row = re.search(r"<tr><td>AE</td>.*?</tr>", html, re.S).group(0)
    # rows validated, rows set aside, columns, errors, warnings, notices
    assert re.findall(r'class="num">(\d+)<', ae_row) == ["4", "0", "12", "1", "0", "0"] and "FAIL" in ae_row
    assert "baseline_igg" in html  # rules checked
    assert not re.search(r"20\d\d-\d\d-\d\d[T ]\d\d:\d\d", html.replace("2022-", ""))  # no timestamp
    _m, clean = build_report(DOMAINS, files, typed, {d: r[1] for d, r in results.items()})
    assert "PASS: all 8 exports meet the raw-data contract" in clean


def test_reference_cut_passes_validation(config):
    """The simulated reference study (resources/reference_study/raw) meets the contract."""
    if not (REFERENCE_RAW / "dm.csv").exists() and not (REFERENCE_RAW / "dm.xpt").exists():
        pytest.skip("reference data cut not generated yet (make reference-data)")

    def export(domain):
        for ext in ("csv", "xpt"):
            if (REFERENCE_RAW / f"{domain}.{ext}").exists():
                return str(REFERENCE_RAW / f"{domain}.{ext}")
        return None

    problems = []
    for domain in DOMAINS:
        _typed, failures = check_domain(
            domain,
            export(domain),
            str(REFERENCE_RAW / f"{domain}.csv"),
            UNITS if domain in UNIT_DOMAINS else None,
            dm=export("dm") if domain != "dm" else None,
            ex=export("ex") if domain == "lb" else None,
            study=study_params(config, domain),
        )
        problems.append(failures)
    merged = pd.concat(problems, ignore_index=True)
    assert merged.empty, merged.head(20).to_string()


# ----------------------------------------------------------------------------- end to end
SNAKEMAKE = VENV_BIN / "snakemake"


def _targets(res, gates=True) -> list[str]:
    out = [str(res / "validation" / "failures.csv"), str(res / "validation" / "report.html")]
    if gates:
        out += [str(res / "validation" / f"{d}.parquet") for d in DOMAINS]
    return out


def _snakemake(raw, work, *extra, gates=True, cores=1):
    res = work / "results"
    cmd = [
        str(SNAKEMAKE),
        "--cores",
        str(cores),
        "--nolock",  # (tests/pipeline.py snakemake_cmd)
        *extra,
        "--config",
        f"raw_dir={raw}",
        f"results_dir={res}",
        f"logs_dir={work / 'logs'}",
        "--",
        *_targets(res, gates),
    ]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def _failure_keys(res) -> set[tuple[str, str, str]]:
    df = read_failures(res / "validation" / "failures.csv")
    return set(zip(df["file"], df["column"], df["check"]))


def _gate_messages(stderr: str) -> list[str]:
    """The gates' messages (each appears twice: the script's stderr and Snakemake echoing its log)."""
    lines = [
        line for line in stderr.splitlines() if "Validation failed for" in line and "rule validated" in line
    ]
    return sorted(set(lines))


def _assert_clean_failure(proc, res):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    messages = _gate_messages(proc.stderr)
    assert messages, proc.stderr[-3000:]
    for line in messages:
        assert str(res / "validation" / "report.html") in line and "failures.csv" in line
    assert (res / "validation" / "failures.csv").exists() and (res / "validation" / "report.html").exists()
    return messages


@pytest.mark.e2e
def test_e2e_good_cut_rerun_closure_and_failure_keeps_other_results(valid_cut_run, tmp_path):
    raw, res = copy_run(valid_cut_run, tmp_path)  # the session's run of validation and derive (passed)
    assert (res / "validation" / "failures.csv").read_text() == "file,row,column,check,severity,value,message\n"
    assert "PASS: all 8 exports" in (res / "validation" / "report.html").read_text()
    ae_before = (res / "validation" / "ae.parquet").read_bytes()
    lb = pd.read_parquet(res / "validation" / "lb.parquet")
    assert lb["LBSEQ"].dtype == "float64" and lb["LBORRES"].dtype == object
    assert len(lb) == 36 and lb["USUBJID"].iloc[0] == SUBJECTS[0]

    again = _snakemake(raw, tmp_path)
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr

    # a bad value in ae.csv: only the AE check, the report and the AE gate run; the others are untouched
    others = {p: p.stat().st_mtime_ns for p in (res / "validation").rglob("*.parquet") if "ae" not in p.name}
    frames = valid_cut_frames()
    frames["ae"].loc[0, "AETOXGR"] = "7"
    write_cut({"ae": frames["ae"]}, raw)
    bad = _snakemake(raw, tmp_path, cores=2)  # 2 cores: the report and the AE gate are ready together ...
    messages = _assert_clean_failure(bad, res)
    # ... yet the gate starts only once the report is written (its ancient() input)
    assert bad.stderr.index("(Rule: validation_report)") < bad.stderr.index("localrule validated:")
    assert (
        messages == [m for m in messages if "Validation failed for ae.csv: 1 error(s)" in m]
        and len(messages) == 1
    )
    assert "First: row 1, column AETOXGR (range)" in messages[0]
    assert _failure_keys(res) == {("ae.csv", "AETOXGR", "range")}
    assert {p: p.stat().st_mtime_ns for p in others} == others
    log = bad.stdout + bad.stderr
    stats = dict(re.findall(r"^(check_domain|validation_report|validated|total)\s+(\d+)$", log, re.M))
    assert stats == {"check_domain": "1", "validation_report": "1", "validated": "1", "total": "3"}
    assert set(re.findall(r"wildcards: domain=(\w+)", log)) == {"ae"}
    assert not (res / "validation" / "ae.parquet").exists()  # no stale AE table for the derive stage

    write_cut({"ae": valid_cut_frames()["ae"]}, raw)
    fixed = _snakemake(raw, tmp_path)
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    assert (res / "validation" / "ae.parquet").read_bytes() == ae_before  # byte-identical


def _broken_cut_a(raw):
    """One broken rule per domain (independent of each other)."""
    f = valid_cut_frames()
    f["dm"] = f["dm"].drop(columns=["SITEID"])  # missing column
    f["ex"].loc[3, "EXDOSE"] = "680 mg"  # text in a numeric field
    f["vs"].loc[0, "VSORRESU"] = "stone"  # unknown unit
    f["lb"].loc[1, "LBDTC"] = "2022-02-30T08:00"  # bad date (ALB at screening)
    f["pc"].loc[5, "PCORRES"] = "-4.1"  # negative concentration
    f["qs"].loc[0, "QSORRES"] = "10.5"  # EDSS out of range
    f["qs"].loc[4, "QSORRES"] = "3.7"  # EDSS not a half step
    f["ae"].loc[2, "USUBJID"] = "BATO-999-999"  # orphan subject
    f["ds"].loc[1, "DSSCAT"] = "STUDY TREATMENT"  # duplicate key (subject 1)
    return write_cut(f, raw)


@pytest.mark.e2e
def test_e2e_broken_values_stop_the_run_after_the_report(tmp_path):
    raw = _broken_cut_a(tmp_path / "raw")
    res = tmp_path / "results"
    proc = _snakemake(raw, tmp_path)
    messages = _assert_clean_failure(proc, res)
    assert len(messages) == 1  # the first failing gate stops the run ...
    # ... but every check and the report ran before it (priorities), so every problem is listed
    keys = _failure_keys(res)
    expected = {
        ("dm.csv", "SITEID", "required_column"),
        ("ex.csv", "EXDOSE", "numeric"),
        ("vs.csv", "VSORRESU", "unit_known"),
        ("lb.csv", "LBDTC", "iso8601"),
        ("pc.csv", "PCORRES", "range"),
        ("qs.csv", "QSORRES", "range"),
        ("qs.csv", "QSORRES", "edss_half_step"),
        ("ae.csv", "USUBJID", "orphan_subject"),
        ("ds.csv", "USUBJID+DSSCAT", "unique_key"),
    }
    assert keys == expected
    html = (res / "validation" / "report.html").read_text()
    assert "FAIL: 10 error(s) in 8 of 8 export(s)" in html  # the duplicate key names 2 rows
    assert not list((res / "validation").glob("*.parquet"))

    # with --keep-going every gate says why its domain failed
    proc = _snakemake(raw, tmp_path, "--keep-going")
    messages = _assert_clean_failure(proc, res)
    named = sorted(re.search(r"Validation failed for (\w+\.csv)", m).group(1) for m in messages)
    assert named == sorted(f"{d}.csv" for d in DOMAINS)
    assert any("First: row 1, column QSORRES (range)" in m for m in messages)


@pytest.mark.e2e
def test_e2e_malformed_files(tmp_path):
    raw = make_valid_cut(tmp_path / "raw")
    dm = valid_cut_frames()["dm"]
    dm["PATNAME"] = ["A", "B", "C"]  # direct identifier
    write_cut({"dm": dm}, raw)
    (raw / "ex.csv").write_bytes(b"")  # empty file
    (raw / "vs.csv").write_text((raw / "vs.csv").read_text().splitlines()[0] + "\n")  # header only
    (raw / "lb.csv").write_text((raw / "lb.csv").read_text().replace(",", ";"))  # wrong delimiter
    (raw / "pc.csv").unlink()  # missing file
    qs = (raw / "qs.csv").read_text().replace("WEEK 1", "SEMAINE 1 \u00e9t\u00e9", 1)
    (raw / "qs.csv").write_bytes(qs.encode("latin-1"))  # Latin-1 file
    res = tmp_path / "results"
    proc = _snakemake(raw, tmp_path, "--keep-going", cores=2)  # every gate runs: the order does not matter
    messages = _assert_clean_failure(proc, res)
    named = sorted(re.search(r"Validation failed for (\w+\.csv)", m).group(1) for m in messages)
    assert named == ["dm.csv", "ex.csv", "lb.csv", "pc.csv", "qs.csv", "vs.csv"]
    assert _failure_keys(res) == {
        ("dm.csv", "PATNAME", "direct_identifier"),
        ("ex.csv", "", "file_empty"),
        ("vs.csv", "", "header_only"),
        ("lb.csv", "", "wrong_delimiter"),
        ("pc.csv", "", "file_missing"),
        ("qs.csv", "", "not_utf8"),
    }
    failures = read_failures(res / "validation" / "failures.csv")
    qs_row = failures[failures["file"] == "qs.csv"].iloc[0]
    assert int(qs_row["row"]) == 2 and "line 3" in qs_row["message"]
    assert "A" not in failures.loc[failures["file"] == "dm.csv", "value"].tolist()
    # AE and DS are fine and published
    assert (res / "validation" / "ae.parquet").exists() and (res / "validation" / "ds.parquet").exists()
    shutil.rmtree(res)
