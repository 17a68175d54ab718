"""Snakemake hygiene: `snakemake --lint` reports nothing; rule files are snakefmt-formatted;
every rule declares log, benchmark and a conda environment; threads and resources come from the
profiles' defaults, and a rule lists only those that differ from them."""

from __future__ import annotations

import re
import subprocess

import yaml

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


PROFILES = [ROOT / "profiles" / "default", ROOT / "profiles" / "slurm"]
DEFAULT_THREADS = 1  # Snakemake's own default


def _rules():
    """(file name, rule name, indent, body) of every rule, also those defined in a loop
    (`rule:` with a `name:` directive, as a rule-making function would write them)."""
    for path in RULE_FILES:
        text = path.read_text(encoding="utf-8")
        for block in re.split(r"\n(?=[ ]*rule(?: \w+)?:)", text):
            m = re.match(r"([ ]*)rule(?: (\w+))?:", block)
            if not m:
                continue
            indent = m.group(1)
            body = block.split("\n\n\n")[0]
            name = m.group(2)
            if name is None:
                named = re.search(rf"\n{indent}    name:\n\s+(.+)", body)
                name = named.group(1).strip() if named else "<unnamed>"
            yield path.name, name, indent, body


def _default_resources(profile):
    return yaml.safe_load((profile / "config.yaml").read_text(encoding="utf-8"))["default-resources"]


def test_profiles_set_the_default_threads_and_resources():
    local, slurm = (_default_resources(p) for p in PROFILES)
    assert {"mem_mb", "runtime"} <= set(local), local
    # the same defaults locally and on the cluster (the cluster profile adds account/partition only)
    assert {k: slurm[k] for k in local} == local
    assert not any(re.search(r"^\s*threads:", (p / "config.yaml").read_text(encoding="utf-8"), re.M)
                   for p in PROFILES)  # one thread: Snakemake's default


def test_rules_list_only_the_threads_and_resources_that_differ_from_the_profile():
    defaults = _default_resources(PROFILES[0])
    repeated = []
    for file, name, indent, body in _rules():
        if name == "all":
            continue
        threads = re.search(rf"\n{indent}    threads: (\S+)\n", body)
        if threads and threads.group(1) == str(DEFAULT_THREADS):
            repeated.append(f"{file}: rule {name} repeats threads: {DEFAULT_THREADS}")
        res = re.search(rf"\n{indent}    resources:\n((?:{indent}        .*\n)+)", body + "\n")
        for key, value in re.findall(r"^\s+(\w+)=(\d+),?$", res.group(1) if res else "", re.M):
            if key in defaults and int(value) == defaults[key]:
                repeated.append(f"{file}: rule {name} repeats the default {key}={value}")
    assert not repeated, "\n".join(repeated)


def test_every_rule_declares_log_benchmark_and_conda():
    missing = []
    names = []
    for file, name, indent, body in _rules():
        names.append(name)
        if name == "all":
            continue
        for directive in ("log:", "benchmark:", "conda:"):
            if f"\n{indent}    {directive}" not in body:
                missing.append(f"{file}: rule {name} has no {directive}")
    assert not missing, "\n".join(missing)
    assert {"table", "figure", "derive", "stats_part", "pkpd_plot"} <= set(names)  # the parser sees them


def test_rules_made_in_a_loop_are_made_by_a_function():
    """A rule defined in a loop body would run the last entry's script: Snakemake evaluates the
    `script:` path again when the job runs, when the loop variable holds the last value."""
    wrong = []
    for path in RULE_FILES:
        lines = path.read_text(encoding="utf-8").split("\n")
        for i, line in enumerate(lines):
            m = re.match(r"([ ]+)rule(?: \w+)?:", line)
            if not m:
                continue
            outer = next(prev for prev in reversed(lines[:i])
                         if prev.strip() and len(prev) - len(prev.lstrip()) < len(m.group(1)))
            if not outer.lstrip().startswith("def "):
                wrong.append(f"{path.name}:{i + 1}: rule inside `{outer.strip()}`")
    assert not wrong, "\n".join(wrong)
