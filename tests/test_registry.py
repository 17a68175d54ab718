"""The table and figure registries: every name of TABLES / FIGURES in the rule files has a builder
adapter in the library and a caption branch in its report template, and vice versa; an adapter
builds its table or figure from the job's inputs and params only."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT

KINDS = {  # kind -> rule file, library registry module, caption template
    "table": ("tables.smk", "fcrnpipe.tables.registry", "TABLES", "table.rst"),
    "figure": ("figures.smk", "fcrnpipe.figures.registry", "FIGURES", "figure.rst"),
}


def registry_names(rule_file: str, var: str) -> list[str]:
    """The names of the ``var`` dict of a rule file (one ``    "<name>": Spec(`` line per entry)."""
    text = (ROOT / "workflow" / "rules" / rule_file).read_text(encoding="utf-8")
    block = re.search(rf"^{var} = {{\n(.*?)^}}\n", text, re.S | re.M)
    assert block, f"no {var} dict in {rule_file}"
    return re.findall(r'^    "(\w+)": Spec\(', block.group(1), re.M)


def rule_names(kind: str) -> list[str]:
    """The names of the TABLES / FIGURES dict of the rule file."""
    rule_file, _, var, _ = KINDS[kind]
    return registry_names(rule_file, var)


def adapter_names(kind: str) -> list[str]:
    import importlib

    _, module, var, _ = KINDS[kind]
    return list(getattr(importlib.import_module(module), var))


def caption_names(kind: str) -> list[str]:
    text = (ROOT / "workflow" / "report" / KINDS[kind][3]).read_text(encoding="utf-8")
    return re.findall(r'snakemake\.wildcards\.name == "(\w+)"', text)


@pytest.mark.parametrize("kind", KINDS)
def test_rules_adapters_and_captions_list_the_same_names(kind):
    rules, adapters, captions = rule_names(kind), adapter_names(kind), caption_names(kind)
    assert len(rules) >= 7 and len(set(rules)) == len(rules)
    assert sorted(adapters) == sorted(rules), "names of the rule file without an adapter, or vice versa"
    assert sorted(captions) == sorted(rules), "names without a caption branch, or vice versa"


def test_the_name_parser_sees_every_entry():
    assert rule_names("table")[:2] == ["demographics", "disposition"] and "pkpd_parameters" in rule_names("table")
    assert len(rule_names("table")) == 14 and len(rule_names("figure")) == 7


def _job(name: str, kind: str, inputs: dict, params: dict):
    """A stand-in ``snakemake`` object of a generic rule's job."""
    from types import SimpleNamespace

    return SimpleNamespace(wildcards=SimpleNamespace(name=name), input=SimpleNamespace(**inputs),
                           params=SimpleNamespace(**{kind: params, "data_cut": "cut 7"}))


def test_a_table_adapter_reads_its_inputs_and_gets_the_data_cut(tmp_path):
    """pkpd_parameters: the CSV at the job's input, the data cut beside the table's params."""
    import pandas as pd

    from fcrnpipe.tables.registry import build_table

    path = tmp_path / "population_parameters.csv"
    pd.DataFrame(
        [["CL", 0.2, 0.01, 5.0, 0.18, 0.22, "L/day", "fixed"]],
        columns=["parameter", "estimate", "se", "rse_pct", "ci_low", "ci_high", "unit", "kind"],
    ).to_csv(path, index=False)
    # its numbers come from the ARD part pkpd (rule stats_part), written as that rule does
    from fcrnpipe.stats import part_ard
    from fcrnpipe.stats.descriptive import frame
    from fcrnpipe.stats.pk import pkpd_parameter_rows
    from fcrnpipe.tableio import write_csv

    part = tmp_path / "pkpd.csv"
    write_csv(part_ard(frame([]), pkpd_parameter_rows(pd.read_csv(path)), [], []), part)
    table = build_table(_job("pkpd_parameters", "table", {"parameters": str(path), "ard": [str(part)]}, {}))
    assert table.data_cut == "cut 7"
    assert table.data.iloc[0]["parameter"] == "CL" and table.data.iloc[0]["estimate"] == 0.2


def _broken_resource(tmp_path, name: str, row: int, column: str, value: str) -> str:
    """A copy of ``resources/<name>`` whose data row ``row`` (1 = first) has ``value`` in ``column``."""
    path = tmp_path / name
    lines = (ROOT / "resources" / name).read_text(encoding="utf-8").splitlines()
    cells = lines[row].split(",")
    cells[lines[0].split(",").index(column)] = value
    path.write_text("\n".join([*lines[:row], ",".join(cells), *lines[row + 1 :]]) + "\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("kind, name", [("table", "lab_shift"), ("figure", "albumin_cholesterol")])
def test_the_ctcae_table_a_table_or_figure_reads_is_validated(tmp_path, kind, name):
    """lab_shift and albumin_cholesterol read ctcae.csv with the validated loader
    (derive.grading.load_ctcae): a broken user table is a UserError naming file, row, column and
    rule, not a traceback from inside the builder."""
    from fcrnpipe.errors import UserError
    from fcrnpipe.figures.registry import build_figure
    from fcrnpipe.tables.registry import build_table

    ctcae = _broken_resource(tmp_path, "ctcae.csv", 1, "grade", "two")
    missing = str(tmp_path / "not_read.parquet")
    inputs = {"ctcae": ctcae, "adsl": missing, "adlb": missing, "ard": [missing]}
    params = {"arms": [], "grading": {}, "albumin_paramcd": "ALB", "treatment": "X", "dosing_days": [], "visits": []}
    build = build_table if kind == "table" else build_figure
    with pytest.raises(UserError, match=r"ctcae\.csv, row 1, column grade: .two. is not an integer 1-5 \(rule grade\)"):
        build(_job(name, kind, inputs, params))


def test_the_ctcae_table_the_lab_stats_part_reads_is_validated(tmp_path):
    """The lab part of the ARD reads ctcae.csv with the validated loader too (before the ADaM
    inputs): a broken user table is a UserError naming file, row, column and rule."""
    from fcrnpipe.errors import UserError
    from fcrnpipe.stats.registry import build_part

    ctcae = _broken_resource(tmp_path, "ctcae.csv", 1, "grade", "two")
    missing = str(tmp_path / "not_read.parquet")
    job = _part_job("lab", {"ctcae": ctcae, "adsl": missing, "adlb": missing}, {"grading": {}})
    with pytest.raises(UserError, match=r"ctcae\.csv, row 1, column grade: .two. is not an integer 1-5 \(rule grade\)"):
        build_part(job)


@pytest.mark.parametrize("name", ["albumin", "cholesterol", "igg"])
def test_the_units_table_a_lab_table_reads_is_validated(tmp_path, name):
    """The laboratory tables read their decimals from units.csv with the validated loader
    (units.load_unit_table): a broken user table is a UserError naming file, row, column and rule,
    not a traceback or silently wrong decimals."""
    from fcrnpipe.errors import UserError
    from fcrnpipe.tables.registry import build_table

    units = _broken_resource(tmp_path, "units.csv", 2, "decimals", "1.5")
    missing = str(tmp_path / "not_read.parquet")
    inputs = {"units": units, "adsl": missing, "adlb": missing, "ard": [missing]}
    params = {"arms": [], "overall_label": "Overall", "treatment": "X"}
    with pytest.raises(UserError, match=r"units\.csv, row 2, column decimals: .1\.5. is not a non-negative integer"):
        build_table(_job(name, "table", inputs, params))


def test_stats_rule_and_adapters_list_the_same_parts():
    from fcrnpipe.stats.registry import PARTS

    parts = registry_names("stats.smk", "STATS_PARTS")
    assert parts == ["ae", "lab", "disposition", "pd", "edss", "pk", "pk_nca", "pkpd"] and list(PARTS) == parts


def test_derive_rule_and_adapters_list_the_same_datasets():
    from fcrnpipe.derive.registry import DATASETS

    datasets = registry_names("derive.smk", "DERIVE")
    assert datasets == ["adsl", "adex", "adlb", "adpc", "adedss", "adae"] and list(DATASETS) == datasets


def test_a_derive_adapter_reads_its_inputs_and_passes_the_params_and_an_unknown_dataset_is_refused(
    tmp_path, monkeypatch
):
    """adex: the validated DM and EX at the job's inputs and the entry's params as keyword
    arguments of derive_adex (recorded by a stand-in); an unknown dataset names the known ones."""
    from types import SimpleNamespace

    import pandas as pd

    from fcrnpipe.derive import registry

    dm, ex = pd.DataFrame({"USUBJID": ["S1", "S2"]}), pd.DataFrame({"USUBJID": ["S1"], "EXDOSE": [340.0]})
    dm.to_parquet(tmp_path / "dm.parquet"), ex.to_parquet(tmp_path / "ex.parquet")
    calls = []
    monkeypatch.setattr(registry, "derive_adex", lambda *frames, **kw: calls.append((frames, kw)) or frames[1])
    params = {"arms": [{"armcd": "A", "label": "A", "dose_mg": 340}], "treatment": "X", "placebo": "P"}
    job = SimpleNamespace(wildcards=SimpleNamespace(dataset="adex"), params=SimpleNamespace(dataset=params),
                          input=SimpleNamespace(dm=str(tmp_path / "dm.parquet"), ex=str(tmp_path / "ex.parquet")))
    out = registry.build_dataset(job)
    (read_dm, read_ex), kwargs = calls[0]
    assert read_dm["USUBJID"].tolist() == ["S1", "S2"] and read_ex["EXDOSE"].tolist() == [340.0]
    assert kwargs == params and out is read_ex
    job.wildcards.dataset = "adcm"
    with pytest.raises(ValueError, match="unknown analysis dataset 'adcm'; known: adsl, adex, adlb, adpc, adedss, ad"):
        registry.build_dataset(job)


def _part_job(part: str, inputs: dict, params: dict):
    from types import SimpleNamespace

    return SimpleNamespace(wildcards=SimpleNamespace(part=part), input=SimpleNamespace(**inputs),
                           params=SimpleNamespace(arms=["A"], visits=[], part=params))


def test_a_stats_part_adapter_reads_its_input_and_an_unknown_part_is_refused(tmp_path):
    """pkpd: the population parameters at the job's input -> display rows only (estimate 0.2 and
    its CI 0.18-0.22 as written); an unknown part is an error naming the known ones."""
    import pandas as pd

    from fcrnpipe.stats.registry import build_part

    path = tmp_path / "population_parameters.csv"
    pd.DataFrame(
        [["CL", 0.2, 0.01, 5.0, 0.18, 0.22, "L/day", "fixed"]],
        columns=["parameter", "estimate", "se", "rse_pct", "ci_low", "ci_high", "unit", "kind"],
    ).to_csv(path, index=False)
    ard = build_part(_part_job("pkpd", {"results": str(path)}, {}))
    assert set(ard["analysis_type"]) == {"display"}
    cl = ard[(ard["endpoint"] == "PK/PD model: CL") & (ard["statistic"] == "estimate")]
    assert dict(zip(cl["component"], cl["value"]))["estimate"] == 0.2
    assert {"ci_low": 0.18, "ci_high": 0.22}.items() <= dict(zip(cl["component"], cl["value"])).items()
    with pytest.raises(ValueError, match="unknown stats part 'adcm'; known: ae, lab, disposition, pd, edss, pk, pk_nca, pkpd"):
        build_part(_part_job("adcm", {}, {}))


def test_pkpd_plot_registry_names_the_plots_of_the_rule():
    """rule pkpd_plot (workflow/rules/pkpd.smk: gof and individual fits per endpoint, ETA
    distributions) and fcrnpipe.pkpd.registry list the same plots; an unknown one is refused."""
    from types import SimpleNamespace

    from fcrnpipe.pkpd.registry import PLOTS, build_plot

    text = (ROOT / "workflow" / "rules" / "pkpd.smk").read_text(encoding="utf-8")
    assert 'PKPD_ENDPOINTS = ["pk", "igg"]' in text
    assert re.findall(r'^    \*\*\{f"(\w+)_\{e\}": Spec\(', text, re.M) == ["gof", "individual_fits"]
    assert registry_names("pkpd.smk", "PKPD_PLOTS") == ["eta_distributions"]
    assert list(PLOTS) == ["gof_pk", "gof_igg", "individual_fits_pk", "individual_fits_igg", "eta_distributions"]
    job = SimpleNamespace(wildcards=SimpleNamespace(name="vpc_pk"))
    with pytest.raises(ValueError, match="unknown PK/PD plot 'vpc_pk'; known: gof_pk, gof_igg, "):
        build_plot(job)
