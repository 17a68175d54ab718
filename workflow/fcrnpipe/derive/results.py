"""Reported result text -> numbers, with censoring flags and the configured imputation.

Forms (docs/datasets.md, section 1):

* numeric labs: ``9.8``; censored ``<0.5`` (below the limit; the limit is kept) or ``>2000``
  (above the limit: the value is the limit);
* titres: ``1:N`` -> N (log2 N); ``NEGATIVE`` -> below the lowest dilution (1:10): censored,
  undetectable; ``POSITIVE`` without an end-point titre -> detected, no number;
* concentrations: a number, or below the LLOQ (``<LLOQ``, ``BLQ`` -> the record's ``PCLLOQ``;
  ``<x`` -> x).

Imputation of censored values (``config.yaml: censoring``):

* ``lab``: ``half_limit`` (x/2), ``limit`` (x), ``zero``, ``missing``;
* ``titre``: ``half_lowest`` (half the lowest dilution: 5), ``zero``, ``missing``;
* PK, per subject in time order: BLQ before the first measurable concentration ->
  ``pk_before_first_measurable`` (``zero``/``missing``), after it ->
  ``pk_after_first_measurable`` (``missing``/``zero``/``half_lloq``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fcrnpipe.errors import UserError

#: Lowest dilution of the AQP4-IgG cell-based assay (a NEGATIVE result is below 1:10).
LOWEST_DILUTION = 10.0
LAB_METHODS = ("half_limit", "limit", "zero", "missing")
TITRE_METHODS = ("half_lowest", "zero", "missing")
PK_BEFORE_METHODS = ("zero", "missing")
PK_AFTER_METHODS = ("missing", "zero", "half_lloq")

_NUM = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER = re.compile(rf"^[+-]?{_NUM}$")
_CENSORED = re.compile(rf"^(?P<op>[<>])\s*(?P<num>{_NUM})$")
_TITRE = re.compile(r"^1:(?P<dil>[1-9]\d*)$")
#: PCORRES words for a concentration below the LLOQ (compared upper-cased; as validation accepts them).
_PK_BLQ_WORDS = ("<LLOQ", "BLQ", "<BLQ", "BLOQ", "<LOQ")


@dataclass(frozen=True)
class Result:
    """A parsed result.

    ``value``: the number (the titre's reciprocal dilution; the limit of a censored value; NaN
    when there is none). ``censor``: ``"<"``, ``">"`` or ``None``. ``undetected``: a titre
    below the lowest dilution (``NEGATIVE``) -- ``None`` for non-titres.
    """

    value: float
    censor: str | None = None
    undetected: bool | None = None


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == ""


def parse_numeric(text: str | None) -> Result | None:
    """``"9.8"`` -> 9.8; ``"<0.5"`` -> (0.5, ``<``); ``">2000"`` -> (2000, ``>``); empty -> None.

    Raises ``ValueError`` for anything else.
    """
    if _missing(text):
        return None
    s = str(text).strip()
    if _NUMBER.match(s):
        return Result(float(s))
    m = _CENSORED.match(s)
    if m:
        return Result(float(m.group("num")), m.group("op"))
    raise ValueError(f"{s!r} is not a number or a censored number (<x, >x)")


def parse_titre(text: str | None, lowest: float = LOWEST_DILUTION) -> Result | None:
    """``"1:100"`` -> 100; ``"NEGATIVE"`` -> (``lowest``, ``<``, undetected); ``"POSITIVE"`` -> NaN.

    Raises ``ValueError`` for anything else.
    """
    if _missing(text):
        return None
    s = str(text).strip()
    m = _TITRE.match(s)
    if m:
        return Result(float(m.group("dil")), None, False)
    if s.upper() == "NEGATIVE":
        return Result(float(lowest), "<", True)
    if s.upper() == "POSITIVE":
        return Result(math.nan, None, False)
    raise ValueError(f"{s!r} is not a titre (1:N, NEGATIVE or POSITIVE)")


def parse_concentration(text: str | None, lloq: float) -> Result | None:
    """``"12.3"`` -> 12.3; ``"<LLOQ"``/``"BLQ"``/``"<BLQ"`` (any case) -> (``lloq``, ``<``); ``"<0.5"`` -> (0.5, ``<``).

    Raises ``ValueError`` for anything else.
    """
    if _missing(text):
        return None
    s = str(text).strip()
    if s.upper() in _PK_BLQ_WORDS:
        return Result(float(lloq), "<")
    r = parse_numeric(s)
    if r is None or r.censor == ">":
        raise ValueError(f"{s!r} is not a concentration (a number, <LLOQ, BLQ or <x)")
    return r


def impute_lab(limit: float, method: str) -> float:
    """Value imputed for a lab result ``<limit`` (``config.yaml: censoring.lab``)."""
    if method == "half_limit":
        return limit / 2.0
    if method == "limit":
        return limit
    if method == "zero":
        return 0.0
    if method == "missing":
        return math.nan
    raise UserError(f"config.yaml censoring.lab: unknown method {method!r} (one of {', '.join(LAB_METHODS)})")


def impute_titre(method: str, lowest: float = LOWEST_DILUTION) -> float:
    """Value imputed for a NEGATIVE titre (``config.yaml: censoring.titre``)."""
    if method == "half_lowest":
        return lowest / 2.0
    if method == "zero":
        return 0.0
    if method == "missing":
        return math.nan
    raise UserError(f"config.yaml censoring.titre: unknown method {method!r} (one of {', '.join(TITRE_METHODS)})")


def impute_blq(
    blq: pd.Series, lloq: pd.Series, values: pd.Series, order: pd.Series, before: str, after: str
) -> pd.Series:
    """AVAL of one subject's concentrations with BLQ records imputed.

    ``blq`` (bool), ``lloq`` (standard unit), ``values`` (measurable values; ignored where BLQ)
    and ``order`` (sort key, e.g. hours after the first dose) are aligned series of one
    subject. BLQ records before the first measurable one (in ``order``) get ``before``
    (``zero``/``missing``), later ones ``after`` (``missing``/``zero``/``half_lloq``).
    Records with neither a value nor BLQ stay missing and do not count as measurable.
    """
    if before not in PK_BEFORE_METHODS:
        raise UserError(f"config.yaml censoring.pk_before_first_measurable: unknown method {before!r}")
    if after not in PK_AFTER_METHODS:
        raise UserError(f"config.yaml censoring.pk_after_first_measurable: unknown method {after!r}")
    out = values.astype("float64").where(~blq, np.nan)
    measurable = (~blq) & values.notna()
    sorted_idx = order.sort_values(kind="mergesort", na_position="last").index
    seen = False
    for i in sorted_idx:
        if measurable[i]:
            seen = True
            continue
        if not blq[i]:
            continue
        if not seen:
            out[i] = 0.0 if before == "zero" else np.nan
        elif after == "zero":
            out[i] = 0.0
        elif after == "half_lloq":
            out[i] = float(lloq[i]) / 2.0
        else:
            out[i] = np.nan
    return out
