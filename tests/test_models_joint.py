"""Models as values: the ``joint`` property of the structural models, the name -> class
registry, and the pkpd stage choosing between one joint fit and a PK + a PD fit by the
property instead of by a ``"+"`` in the model's name."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from fcrnpipe import models as M
from fcrnpipe.models import (
    CMT_CENTRAL,
    CMT_PD,
    MODEL_CLASSES,
    MODEL_NAMES,
    IggTurnover,
    Oral1Cmt,
    Sc1CmtMM,
    Sc1CmtMMIggTurnover,
    StructuralModel,
    is_joint,
    make_model,
    model_class,
)
from fcrnpipe.pkpd import stage


def test_only_the_simultaneous_model_is_joint():
    assert StructuralModel.joint is False
    assert Sc1CmtMMIggTurnover.joint is True
    assert Sc1CmtMMIggTurnover().joint is True
    for cls in (Oral1Cmt, Sc1CmtMM, IggTurnover):
        assert cls.joint is False
    assert make_model("oral1cmt").joint is False
    assert make_model("sc1cmt_mm").joint is False
    assert make_model("sc1cmt_mm+igg_turnover").joint is True


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_joint_means_pk_and_pd_outputs(name):
    cls = model_class(name)
    cmts = {o.cmt for o in cls.outputs}
    assert cls.joint == ({CMT_CENTRAL, CMT_PD} <= cmts)


def test_registry_covers_every_model_name_and_matches_the_models_names():
    assert tuple(MODEL_CLASSES) == MODEL_NAMES
    for name, cls in MODEL_CLASSES.items():
        assert model_class(name) is cls
    assert Sc1CmtMM.name == "sc1cmt_mm" and IggTurnover.name == "igg_turnover"
    assert Sc1CmtMMIggTurnover.name == "sc1cmt_mm+igg_turnover"
    assert make_model("oral1cmt").name == "oral1cmt"


def test_registry_variants_and_unknown_names():
    ssfol = make_model("oral1cmt", parameterisation="ssfol")
    assert ssfol.name == "oral1cmt(ssfol)"
    assert model_class(ssfol.name) is Oral1Cmt and not is_joint(ssfol.name)
    assert is_joint("sc1cmt_mm+igg_turnover")
    assert not is_joint("sc1cmt_mm") and not is_joint("igg_turnover")
    with pytest.raises(ValueError, match="unknown model"):
        model_class("two_cmt+emax")


# ----------------------------------------------------------------- the stage uses `joint`
class _JointWithoutPlus(Sc1CmtMMIggTurnover):
    """A joint model whose name has no ``"+"``: the stage must still treat it as joint."""

    name = "pkpd_together"


class _SeparateWithPlus(Sc1CmtMM):
    """A PK-only model whose name has a ``"+"``: the stage must not treat it as joint."""

    joint = False
    name = "sc1cmt+lag"


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setitem(MODEL_CLASSES, _JointWithoutPlus.name, _JointWithoutPlus)
    monkeypatch.setitem(MODEL_CLASSES, _SeparateWithPlus.name, _SeparateWithPlus)
    return M


def _fit_dir(tmp_path: Path, label: str, model: str, params: list[str]) -> dict[str, str]:
    d = tmp_path / label
    d.mkdir()
    (d / "fit_summary.json").write_text(json.dumps({"model": model}), encoding="utf-8")
    pd.DataFrame({"parameter": params, "estimate": [1.0] * len(params)}).to_csv(d / "pop.csv", index=False)
    return {"summary": str(d / "fit_summary.json"), "population": str(d / "pop.csv")}


def test_stage_parts_follow_the_joint_property(tmp_path, registry):
    pk_dir = _fit_dir(tmp_path, "pk", "sc1cmt_mm", ["CL"])
    joint_dir = _fit_dir(tmp_path, "joint", _JointWithoutPlus.name, ["CL", "kout"])
    parts = stage._parts(pk_dir, joint_dir)
    assert [(p, m) for p, m, _ in parts] == [("PKPD", "pkpd_together")]
    pd_dir = _fit_dir(tmp_path, "pd", "igg_turnover", ["kout"])
    parts = stage._parts(pk_dir, pd_dir)
    assert [(p, m) for p, m, _ in parts] == [("PK", "sc1cmt_mm"), ("PD", "igg_turnover")]


def test_eta_sources_follow_the_joint_property(registry):
    assert stage._eta_sources("pkpd_together", "pk.csv", "pd.csv") == [("PK/PD", "pd.csv")]
    assert stage._eta_sources("sc1cmt+lag", "pk.csv", "pd.csv") == [("PK", "pk.csv"), ("PD", "pd.csv")]
    assert stage._eta_sources("sc1cmt_mm+igg_turnover", "pk.csv", "pd.csv") == [("PK/PD", "pd.csv")]
    assert stage._eta_sources("igg_turnover", "pk.csv", "pd.csv") == [("PK", "pk.csv"), ("PD", "pd.csv")]


def test_no_model_name_tests_left_in_the_pkpd_stage():
    root = Path(stage.__file__).parent
    for path in (root / "stage.py", root / "simulation.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""["']\+["']\s+(not\s+)?in\b""", text), path.name
        assert '== "sc1cmt_mm+igg_turnover"' not in text, path.name
