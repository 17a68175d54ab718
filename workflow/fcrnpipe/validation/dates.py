"""ISO 8601 date/time values as SDTMIG allows them (docs/datasets.md, section 1).

Complete dates: ``YYYY-MM-DD``, optionally with a time of hour, minute, second or fractions of a
second precision: ``YYYY-MM-DDThh``, ``YYYY-MM-DDThh:mm``, ``YYYY-MM-DDThh:mm:ss``,
``YYYY-MM-DDThh:mm:ss.f`` (any number of decimals; kept to the microsecond).
Partial dates (``YYYY-MM``, ``YYYY``, and SDTMIG's form with a missing month ``YYYY---DD``) only
where a rule allows them (e.g. ``AESTDTC``, ``BRTHDTC``, variables the analysis does not use). A
value is represented by the interval of dates it covers, so partial dates can be compared "at
their precision" (``YYYY---DD`` covers the whole year).

:func:`parse_iso` parses one value (the derive stage uses it, so that it accepts exactly what
validation accepted); :func:`iso_frame` parses a whole column at once (each distinct value once,
then mapped back), which is what the validation checks use.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

_FULL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})" r"(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?)?$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_NO_MONTH = re.compile(r"^(\d{4})---(\d{2})$")

#: Precisions, coarse to fine; ``year`` and ``month`` are partial dates.
PRECISIONS = ("year", "month", "day", "hour", "minute", "second")


@dataclass(frozen=True)
class IsoValue:
    """A parsed ISO 8601 value: first and last date covered, and its precision.

    ``precision`` is one of :data:`PRECISIONS`; ``moment`` is the date-time when a time was
    recorded (``hour`` precision: on the hour), else ``None``.
    """

    first: date
    last: date
    precision: str
    moment: datetime | None = None

    @property
    def partial(self) -> bool:
        return self.precision in ("year", "month")


def _fraction(text: str | None) -> int:
    """Microseconds of a decimal fraction of a second (``"5"`` -> 500000)."""
    if not text:
        return 0
    return int((text + "000000")[:6])


def parse_iso(value: str | None, allow_partial: bool = False) -> IsoValue | None:
    """Parse a date/date-time; ``None`` if it is not ISO 8601 (or partial when not allowed).

    Calendar validity is checked (``2022-02-30`` and ``T24:00`` are rejected).

    >>> parse_iso("2014-01-02T11").precision, parse_iso("2014-01-02T11:30:15.25").moment.microsecond
    ('hour', 250000)
    >>> parse_iso("2014---02", allow_partial=True).precision
    'year'
    """
    if value is None:
        return None
    m = _FULL.match(value)
    try:
        if m:
            y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
            day = date(y, mo, d)
            if m.group(4) is None:
                return IsoValue(day, day, "day")
            hh = int(m.group(4))
            mm = int(m.group(5)) if m.group(5) is not None else 0
            ss = int(m.group(6)) if m.group(6) is not None else 0
            moment = datetime(y, mo, d, hh, mm, ss, _fraction(m.group(7)))
            precision = "hour" if m.group(5) is None else "minute" if m.group(6) is None else "second"
            return IsoValue(day, day, precision, moment)
        if not allow_partial:
            return None
        m = _MONTH.match(value)
        if m:
            y, mo = int(m.group(1)), int(m.group(2))
            last = calendar.monthrange(y, mo)[1]
            return IsoValue(date(y, mo, 1), date(y, mo, last), "month")
        m = _YEAR.match(value) or _NO_MONTH.match(value)
        if m:
            y = int(m.group(1))
            if m.re is _NO_MONTH and not 1 <= int(m.group(2)) <= 31:
                return None
            return IsoValue(date(y, 1, 1), date(y, 12, 31), "year")
    except ValueError:
        return None
    return None


def is_partial_iso(value: str) -> bool:
    """``True`` for a valid partial date (``YYYY``, ``YYYY-MM`` or ``YYYY---DD``)."""
    parsed = parse_iso(value, allow_partial=True)
    return parsed is not None and parsed.partial


def on_or_before(a: IsoValue, b: IsoValue) -> bool:
    """``a`` is on or before ``b``: by date-time if both have a time, else by date."""
    if a.moment is not None and b.moment is not None:
        return a.moment <= b.moment
    return a.first <= b.last


#: Columns of :func:`iso_frame`.
ISO_COLUMNS = ["ok", "first", "last", "moment", "precision"]


def iso_frame(values: pd.Series, allow_partial: bool = False) -> pd.DataFrame:
    """Parse a column of ISO 8601 text: one row per value (index kept), columns :data:`ISO_COLUMNS`.

    ``ok`` is True for a valid value and for an empty cell (``None``); ``first``/``last`` are
    the dates covered (``datetime64``, midnight), ``moment`` the date-time when a time was
    recorded (else ``NaT``) and ``precision`` one of :data:`PRECISIONS` (``None`` when empty or
    invalid). Each distinct value is parsed once.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    n = len(uniques)
    ok = np.ones(n + 1, dtype=bool)  # the last slot serves the empty cells (code -1)
    first = np.full(n + 1, np.datetime64("NaT"), dtype="datetime64[us]")
    last = first.copy()
    moment = first.copy()
    precision = np.full(n + 1, None, dtype=object)
    for i, v in enumerate(uniques):
        p = parse_iso(str(v), allow_partial=allow_partial)
        if p is None:
            ok[i] = False
            continue
        first[i] = np.datetime64(p.first, "us")
        last[i] = np.datetime64(p.last, "us")
        if p.moment is not None:
            moment[i] = np.datetime64(p.moment, "us")
        precision[i] = p.precision
    idx = np.where(codes < 0, n, codes)
    return pd.DataFrame(
        {
            "ok": ok[idx],
            "first": pd.Series(first[idx], index=values.index).astype("datetime64[ns]"),
            "last": pd.Series(last[idx], index=values.index).astype("datetime64[ns]"),
            "moment": pd.Series(moment[idx], index=values.index).astype("datetime64[ns]"),
            "precision": precision[idx],
        },
        index=values.index,
    )
