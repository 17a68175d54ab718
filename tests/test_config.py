"""config/config.yaml is valid against its schema and bad configs are rejected."""

from __future__ import annotations

import copy

import jsonschema
import pytest
import yaml

from conftest import ROOT


@pytest.fixture(scope="module")
def schema() -> dict:
    with open(ROOT / "workflow" / "schemas" / "config.schema.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def test_shipped_config_is_valid(config, schema):
    jsonschema.validate(config, schema)


@pytest.mark.parametrize(
    "path, value",
    [
        (("baseline", "same_day"), "median"),
        (("seeds", "bootstrap"), -1),
        (("study", "arms"), []),
        (("pkpd", "blq_method"), "M7"),
        (("nca", "auc_method"), "spline"),
        (("edss", "improvement", "large"), 0),
        (("nca", "acceptance", "min_adj_r2"), 1.5),
        (("nca", "acceptance", "exclude"), "yes"),
        (("pkpd", "vpc", "percentiles"), "sometimes"),
        (("pkpd", "vpc", "percentiles"), [5, 50, 100]),
        (("pkpd", "vpc", "stratify_on"), 3),
        (("pkpd", "vpc", "prediction_corrected"), "yes"),
        (("pkpd", "regimen_simulation", "uncertainty"), "posterior"),
        (("pkpd", "regimen_simulation", "trials"), 0),
        (("pkpd", "covariates"), [{"parameter": "CL", "covariate": "WT", "reference": 0, "exponent": 0.75}]),
        (("pkpd", "covariates"), [{"parameter": "CL", "covariate": "WT", "reference": "mean", "exponent": 0.75}]),
        (("pkpd", "covariates"), [{"parameter": "CL", "covariate": "WT", "reference": 70}]),
        (("pkpd", "covariates"), [{"parameter": "CL", "covariate": "WT", "reference": 70, "exponent": 1, "form": "exp"}]),
        (("pkpd", "covariates"), [{"parameter": "CL", "covariate": "body weight", "reference": 70, "exponent": 1}]),
    ],
)
def test_bad_values_are_rejected(config, schema, path, value):
    bad = copy.deepcopy(config)
    node = bad
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_covariate_relations_are_valid_config(config, schema):
    good = copy.deepcopy(config)
    good["pkpd"]["covariates"] = [
        {"parameter": "CL", "covariate": "WT", "reference": 70, "exponent": 0.75},
        {"parameter": "V", "covariate": "WT", "reference": "median", "exponent": 1.0, "estimate": True},
    ]
    jsonschema.validate(good, schema)
    assert config["pkpd"]["covariates"] == []  # the shipped config has none (reference outputs unchanged)


def test_unknown_top_level_key_is_rejected(config, schema):
    bad = dict(config, raw_dri="typo")
    with pytest.raises(jsonschema.ValidationError, match="raw_dri"):
        jsonschema.validate(bad, schema)


SCHEMA_FILES = sorted((ROOT / "workflow" / "schemas").glob("*.yaml"))


def undescribed(node: object, path: tuple[str, ...] = ()) -> list[str]:
    """Dotted paths of the properties (and definitions) of a JSON schema without a ``description``.

    Walks ``properties``, ``patternProperties``, ``definitions``/``$defs`` and every subschema
    they may nest (``items``, ``prefixItems``, ``additionalProperties``, ``oneOf``/``anyOf``/``allOf``,
    ``not``, ``if``/``then``/``else``); a branch of ``oneOf`` is not a property and needs no
    description of its own, but the properties inside it do.
    """
    if isinstance(node, list):
        return [m for i, sub in enumerate(node) for m in undescribed(sub, (*path, str(i)))]
    if not isinstance(node, dict):
        return []
    missing = []
    for key in ("properties", "patternProperties", "definitions", "$defs"):
        for name, prop in (node.get(key) or {}).items():
            if not (isinstance(prop, dict) and str(prop.get("description") or "").strip()):
                missing.append(".".join((*path, name)))
            missing += undescribed(prop, (*path, name))
    for key in ("items", "prefixItems", "additionalProperties", "oneOf", "anyOf", "allOf", "not", "if", "then", "else"):
        if isinstance(node.get(key), (dict, list)):
            missing += undescribed(node[key], (*path, key))
    return missing


def test_schema_files_are_found():
    assert ROOT / "workflow" / "schemas" / "config.schema.yaml" in SCHEMA_FILES


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_every_schema_property_has_a_description(path):
    with open(path, encoding="utf-8") as fh:
        schema = yaml.safe_load(fh)
    assert str(schema.get("description") or "").strip(), f"{path.name} has no description"
    missing = undescribed(schema)
    assert not missing, f"properties of {path.name} without a description: {missing}"


def test_undescribed_finds_nested_and_branch_properties():
    schema = {
        "definitions": {"seed": {"type": "integer"}},
        "properties": {
            "a": {"type": "object", "description": "A", "properties": {"b": {"type": "string"}}},
            "c": {"description": "C", "oneOf": [{"type": "object", "properties": {"d": {"type": "number"}}},
                                                {"const": "auto"}]},
            "e": {"description": "E", "type": "array", "items": {"type": "object", "properties": {
                "f": {"description": " "}, "g": {"description": "G"}}}},
            "h": {"description": "H", "additionalProperties": {"properties": {"i": {}}}},
        },
    }
    assert undescribed(schema) == ["a.b", "c.oneOf.0.d", "e.items.f", "h.additionalProperties.i", "seed"]


def test_placebo_arm_and_new_study_keys(config, schema):
    cfg = copy.deepcopy(config)
    cfg["study"]["arms"].append({"armcd": "PBO", "label": "Placebo", "dose_mg": 0, "color": "#7f7f7f"})
    cfg["study"]["placebo"] = "PLACEBO"
    cfg["edss"]["qstestcd"] = "EDSS01"
    cfg["ae"]["unrelated_terms"] = ["N"]
    jsonschema.validate(cfg, schema)
    cfg["study"]["arms"][-1]["dose_mg"] = -1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(cfg, schema)
