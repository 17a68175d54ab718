"""ISO 8601 dates for the analysis datasets: parsing (complete and partial) and imputation.

Parsing follows the raw-data contract (docs/datasets.md, section 1) through
:func:`fcrnpipe.validation.dates.parse_iso`, so that the derive stage accepts exactly what the
validation stage accepted. A parsed value gives

* ``DTM``: the date-time (``datetime64[ns]``) when a time was recorded, else ``NaT``
  (no time is imputed: a date-only value is compared by date, see :mod:`.baseline`);
* ``DT``: the date (midnight) when the day is known, else ``NaT``;
* ``FIRST``/``LAST``: the first and last date the value covers (a partial ``2022-02`` covers
  2022-02-01 .. 2022-02-28);
* ``PRECISION``: ``year``, ``month``, ``day``, ``minute`` or ``second`` (``None`` if empty).

Partial-date imputation (ADAE; conventions of pharmaverse admiral ``derive_vars_dt`` with
``highest_imputation = "M"``, ``min_dates = TRTSDT`` for starts and ``max_dates`` = end of
study for ends):

* start dates: the earliest plausible date (first of the month / 1 January), but the first-dose
  date when the partial period contains it -- unless the event is known to have ended before
  the first dose (then the earliest plausible date);
* end dates: the last plausible date (last day of the month / 31 December), but the cap (end of
  study) when the partial period contains it;
* flag ``--DTF``: ``D`` when the day was imputed (``YYYY-MM``), ``M`` when month and day were
  (``YYYY``), ``Y`` when the whole date was (never done here: an empty date stays empty).
"""

from __future__ import annotations

import pandas as pd

from fcrnpipe.derive.common import NS
from fcrnpipe.errors import UserError
from fcrnpipe.validation.dates import parse_iso

PARSED_COLUMNS = ["DTM", "DT", "FIRST", "LAST", "PRECISION"]
_FLAG = {"month": "D", "year": "M"}


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and v != v) or str(v).strip() == ""


def parse_dtc(
    values: pd.Series,
    *,
    allow_partial: bool = False,
    where: str = "",
    labels: pd.Series | None = None,
) -> pd.DataFrame:
    """Parse ISO 8601 text into the columns :data:`PARSED_COLUMNS` (index kept).

    Empty cells give ``NaT``/``None``. A value that is not ISO 8601 (or partial when
    ``allow_partial`` is False) raises :class:`UserError` naming ``where`` (file and column,
    e.g. ``"validation/lb.parquet, column LBDTC"``) and the record (``labels``, e.g. its key).

    >>> parse_dtc(pd.Series(["2021-02-11T10:20", "2022-02"]), allow_partial=True)["PRECISION"].tolist()
    ['minute', 'month']
    """
    dtm, dt, first, last, prec = [], [], [], [], []
    for i, v in values.items():
        if _blank(v):
            for col in (dtm, dt, first, last):
                col.append(pd.NaT)
            prec.append(None)
            continue
        p = parse_iso(str(v).strip(), allow_partial=allow_partial)
        if p is None:
            rec = f", {labels[i]}" if labels is not None else f", row {i}"
            kind = "ISO 8601 date (YYYY, YYYY-MM or complete)" if allow_partial else "complete ISO 8601 date"
            raise UserError(f"{where}{rec}: {v!r} is not a {kind}")
        dtm.append(pd.Timestamp(p.moment) if p.moment is not None else pd.NaT)
        dt.append(pd.NaT if p.partial else pd.Timestamp(p.first))
        first.append(pd.Timestamp(p.first))
        last.append(pd.Timestamp(p.last))
        prec.append(p.precision)
    out = pd.DataFrame(
        {
            "DTM": pd.Series(dtm, index=values.index, dtype=NS),
            "DT": pd.Series(dt, index=values.index, dtype=NS),
            "FIRST": pd.Series(first, index=values.index, dtype=NS),
            "LAST": pd.Series(last, index=values.index, dtype=NS),
            "PRECISION": pd.Series(prec, index=values.index, dtype=object),
        },
        index=values.index,
    )
    return out


def impute_start(
    dtc: str | None,
    first_dose: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> tuple[pd.Timestamp, str | None]:
    """Imputed start date and its flag (``D``/``M``/``None``) for one ``--STDTC`` value.

    A complete value keeps its date (flag ``None``). A partial value gets the earliest plausible
    date, or ``first_dose`` when the partial period contains it and the event did not end
    (``end``, a complete or imputed end date) before ``first_dose``.

    >>> impute_start("2022-02", pd.Timestamp("2022-02-15"))
    (Timestamp('2022-02-15 00:00:00'), 'D')
    >>> impute_start("2022-02", pd.Timestamp("2022-03-15"))
    (Timestamp('2022-02-01 00:00:00'), 'D')
    """
    if _blank(dtc):
        return pd.NaT, None
    p = parse_iso(str(dtc).strip(), allow_partial=True)
    if p is None:
        raise UserError(f"{dtc!r} is not an ISO 8601 date")
    lo, hi = pd.Timestamp(p.first), pd.Timestamp(p.last)
    if not p.partial:
        return lo, None
    imputed = lo
    if first_dose is not None and not pd.isna(first_dose):
        fd = pd.Timestamp(first_dose).normalize()
        ended_before = end is not None and not pd.isna(end) and pd.Timestamp(end).normalize() < fd
        if lo <= fd <= hi and not ended_before:
            imputed = fd
    return imputed, _FLAG[p.precision]


def impute_end(dtc: str | None, cap: pd.Timestamp | None = None) -> tuple[pd.Timestamp, str | None]:
    """Imputed end date and its flag for one ``--ENDTC`` value (empty = ongoing -> ``NaT``).

    A partial value gets the last plausible date, or ``cap`` (end of study) when the partial
    period contains it.

    >>> impute_end("2022-02", pd.Timestamp("2022-02-10"))
    (Timestamp('2022-02-10 00:00:00'), 'D')
    >>> impute_end("2021")
    (Timestamp('2021-12-31 00:00:00'), 'M')
    """
    if _blank(dtc):
        return pd.NaT, None
    p = parse_iso(str(dtc).strip(), allow_partial=True)
    if p is None:
        raise UserError(f"{dtc!r} is not an ISO 8601 date")
    lo, hi = pd.Timestamp(p.first), pd.Timestamp(p.last)
    if not p.partial:
        return lo, None
    imputed = hi
    if cap is not None and not pd.isna(cap):
        c = pd.Timestamp(cap).normalize()
        if lo <= c <= hi:
            imputed = c
    return imputed, _FLAG[p.precision]


def impute_dates(
    start_dtc: pd.Series,
    end_dtc: pd.Series,
    first_dose: pd.Series,
    cap: pd.Series,
    *,
    where: str = "",
    labels: pd.Series | None = None,
) -> pd.DataFrame:
    """Vectorised :func:`impute_end` then :func:`impute_start`: columns ``ASTDT, ASTDTF, AENDT, AENDTF``.

    ``first_dose`` and ``cap`` are per record (e.g. ADSL TRTSDT and EOSDT merged onto ADAE).
    """
    rows = []
    for i in start_dtc.index:
        try:
            aendt, aendtf = impute_end(end_dtc[i], cap[i])
            astdt, astdtf = impute_start(start_dtc[i], first_dose[i], aendt)
        except UserError as exc:
            rec = f", {labels[i]}" if labels is not None else f", row {i}"
            raise UserError(f"{where}{rec}: {exc}") from None
        rows.append((astdt, astdtf, aendt, aendtf))
    out = pd.DataFrame(rows, columns=["ASTDT", "ASTDTF", "AENDT", "AENDTF"], index=start_dtc.index)
    for c in ("ASTDT", "AENDT"):
        out[c] = out[c].astype(NS)
    for c in ("ASTDTF", "AENDTF"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out
