"""Snakemake hygiene: `snakemake --lint` reports nothing; rule files are snakefmt-formatted;
every rule declares log, benchmark, threads, resources and a conda environment."""

from __future__ import annotations

import re
import subprocess

from conftest import ROOT, VENV_BIN

RULE_FILES = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]


def test_snakemake_lint_is_clean():
    proc = subprocess.run(
        [str(VENV_BIN / "snakemake"), "--lint"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Lints for" not in out, out[-4000:]
    assert "Congratulations, your workflow is in a good condition!" in out


def test_rule_files_are_snakefmt_formatted():
    proc = subprocess.run(
        [str(VENV_BIN / "snakefmt"), "--check", *map(str, RULE_FILES)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, "run `make fmt`:\n" + proc.stdout + proc.stderr


def test_every_rule_declares_log_benchmark_threads_resources():
    missing = []
    for path in RULE_FILES:
        text = path.read_text(encoding="utf-8")
        for block in re.split(r"\n(?=rule \w+:)", text):
            m = re.match(r"rule (\w+):", block)
            if not m or m.group(1) == "all":
                continue
            body = block.split("\n\n\n")[0]
            for directive in ("log:", "benchmark:", "threads:", "resources:", "conda:"):
                if f"\n    {directive}" not in body:
                    missing.append(f"{path.name}: rule {m.group(1)} has no {directive}")
    assert not missing, "\n".join(missing)
