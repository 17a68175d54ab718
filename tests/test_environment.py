"""The pinned requirements (tested path) and environment.yml (conda users) agree."""

from __future__ import annotations

import yaml

from conftest import ROOT


def _requirements() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return sorted(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def test_every_requirement_is_pinned_exactly():
    reqs = _requirements()
    assert reqs, "requirements.txt is empty"
    unpinned = [r for r in reqs if "==" not in r]
    assert not unpinned, f"not pinned with ==: {unpinned}"


def test_environment_yml_lists_the_same_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip: section"
    assert sorted(pip_sections[0]) == _requirements()
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"])


def test_key_packages_are_pinned():
    names = {r.split("==")[0].lower() for r in _requirements()}
    for pkg in ["snakemake", "pandera", "pandas", "numpy", "scipy", "matplotlib", "pyarrow",
                "jinja2", "snakemake-executor-plugin-slurm", "pytest"]:
        assert pkg in names, pkg


def test_rule_conda_env_lists_the_same_pins():
    env = yaml.safe_load((ROOT / "workflow" / "envs" / "pipeline.yaml").read_text(encoding="utf-8"))
    pip = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d][0]
    assert sorted(p for p in pip if not p.startswith("-e")) == _requirements()
