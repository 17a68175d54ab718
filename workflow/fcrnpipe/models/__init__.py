"""Structural PK/PD models (vectorised over subjects and parameter sets).

``make_model(name, ...)`` builds one by name: ``oral1cmt`` (closed form; ``parameterisation``
``standard`` or ``ssfol``), ``sc1cmt_mm`` (ODE), ``igg_turnover`` (ODE, driven by fixed
individual PK: ``pk_individual``), ``sc1cmt_mm+igg_turnover`` (simultaneous PK + PD).
"""

from __future__ import annotations

from typing import Any

from fcrnpipe.models.base import CMT_CENTRAL, CMT_DEPOT, CMT_PD, Design, Output, ParamSpec, StructuralModel, make_design
from fcrnpipe.models.mab import IggTurnover, MabGridOptions, Sc1CmtMM, Sc1CmtMMIggTurnover, Steroid
from fcrnpipe.models.oral1cmt import Oral1Cmt, bateman, ssfol

MODEL_NAMES = ("oral1cmt", "sc1cmt_mm", "igg_turnover", "sc1cmt_mm+igg_turnover")

#: Model name -> class (the names of :data:`MODEL_NAMES`, as recorded in ``fit.json`` and
#: ``fit_summary.json``).
MODEL_CLASSES: dict[str, type[StructuralModel]] = {
    "oral1cmt": Oral1Cmt,
    "sc1cmt_mm": Sc1CmtMM,
    "igg_turnover": IggTurnover,
    "sc1cmt_mm+igg_turnover": Sc1CmtMMIggTurnover,
}


def model_class(name: str) -> type[StructuralModel]:
    """The class of the model called ``name`` (a variant such as ``oral1cmt(ssfol)`` is its
    base model's class); ValueError for an unknown name."""
    base = name.split("(", 1)[0]
    if base not in MODEL_CLASSES:
        raise ValueError(f"unknown model {name!r} (one of {', '.join(MODEL_CLASSES)})")
    return MODEL_CLASSES[base]


def is_joint(name: str) -> bool:
    """Whether the model called ``name`` predicts both PK and PD (:attr:`StructuralModel.joint`):
    a simultaneous fit, one set of files instead of a PK and a PD fit."""
    return bool(model_class(name).joint)


def make_model(
    name: str,
    parameterisation: str = "standard",
    steroid: Steroid | None = None,
    pk_individual: Any = None,
    pk_typical: dict[str, float] | None = None,
    grid: MabGridOptions | None = None,
) -> StructuralModel:
    """A structural model by name (see the module docstring)."""
    if name == "oral1cmt":
        return Oral1Cmt(parameterisation)
    if name == "sc1cmt_mm":
        return Sc1CmtMM(grid)
    if name == "igg_turnover":
        if pk_individual is None:
            raise ValueError("igg_turnover needs the individual PK parameters (pk_individual)")
        return IggTurnover(pk_individual, steroid=steroid, pk_typical=pk_typical, grid=grid)
    if name == "sc1cmt_mm+igg_turnover":
        return Sc1CmtMMIggTurnover(steroid=steroid, grid=grid)
    raise ValueError(f"unknown model {name!r} (one of {', '.join(MODEL_NAMES)})")


__all__ = [
    "CMT_CENTRAL",
    "CMT_DEPOT",
    "CMT_PD",
    "Design",
    "IggTurnover",
    "MODEL_CLASSES",
    "MODEL_NAMES",
    "MabGridOptions",
    "Oral1Cmt",
    "Output",
    "ParamSpec",
    "Sc1CmtMM",
    "Sc1CmtMMIggTurnover",
    "Steroid",
    "StructuralModel",
    "bateman",
    "is_joint",
    "make_design",
    "make_model",
    "model_class",
    "ssfol",
]
