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
    "make_design",
    "make_model",
    "ssfol",
]
