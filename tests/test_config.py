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


def test_every_schema_property_has_a_description(schema):
    missing = []

    def walk(node, path):
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                if not (isinstance(prop, dict) and prop.get("description")):
                    missing.append(".".join([*path, name]))
                walk(prop, [*path, name])
            for key in ("items", "additionalProperties"):
                if isinstance(node.get(key), dict):
                    walk(node[key], [*path, key])

    walk(schema, [])
    assert not missing, missing


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
