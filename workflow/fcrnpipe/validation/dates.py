"""ISO 8601 date/time values as the raw-data contract allows them (docs/datasets.md, section 1).

Complete values: ``YYYY-MM-DD`` or ``YYYY-MM-DDThh:mm[:ss]``. Partial values (``YYYY-MM``,
``YYYY``) only where a rule allows them (``AESTDTC``, ``AEENDTC``). A value is represented by
the interval of dates it covers, so partial dates can be compared "at their precision".
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime

_FULL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class IsoValue:
    """A parsed ISO 8601 value: first and last date covered, and its precision.

    ``precision`` is ``year``, ``month``, ``day``, ``minute`` or ``second``; ``moment`` is the
    date-time for ``minute``/``second`` precision, else ``None``.
    """

    first: date
    last: date
    precision: str
    moment: datetime | None = None

    @property
    def partial(self) -> bool:
        return self.precision in ("year", "month")


def parse_iso(value: str | None, allow_partial: bool = False) -> IsoValue | None:
    """Parse a date/date-time; ``None`` if it is not ISO 8601 (or partial when not allowed).

    Calendar validity is checked (``2022-02-30`` and ``T24:00`` are rejected).
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
            hh, mm = int(m.group(4)), int(m.group(5))
            ss = int(m.group(6)) if m.group(6) is not None else 0
            moment = datetime(y, mo, d, hh, mm, ss)
            return IsoValue(day, day, "second" if m.group(6) is not None else "minute", moment)
        if not allow_partial:
            return None
        m = _MONTH.match(value)
        if m:
            y, mo = int(m.group(1)), int(m.group(2))
            last = calendar.monthrange(y, mo)[1]
            return IsoValue(date(y, mo, 1), date(y, mo, last), "month")
        m = _YEAR.match(value)
        if m:
            y = int(m.group(1))
            return IsoValue(date(y, 1, 1), date(y, 12, 31), "year")
    except ValueError:
        return None
    return None


def is_partial_iso(value: str) -> bool:
    """``True`` for a valid partial date (``YYYY`` or ``YYYY-MM``)."""
    parsed = parse_iso(value, allow_partial=True)
    return parsed is not None and parsed.partial


def on_or_before(a: IsoValue, b: IsoValue) -> bool:
    """``a`` is on or before ``b``: by date-time if both have a time, else by date."""
    if a.moment is not None and b.moment is not None:
        return a.moment <= b.moment
    return a.first <= b.last
