"""The keys of each SDTM domain, in one place: natural key, ``--SEQ`` and the record key.

Two questions need a key, and they need different ones:

* **Is a record duplicated?** (validation, rule ``unique_key``): the SDTMIG *natural key*,
  :attr:`DomainKeys.natural` -- the identifying variables (:attr:`DomainKeys.base`) plus every
  qualifier and timing variable present in the export (:attr:`DomainKeys.qualifiers`), so that two
  records that differ in any of them (supine and standing blood pressure on one date) are never
  called duplicates. ``--SEQ`` must in addition be unique within a subject.
* **Which record of the previous data cut is this one?** (provenance, ``data_changes.csv``): the
  *record keys*, :attr:`DomainKeys.record`, tried in order until one is unique in both cuts. A record
  key must stay the same when a record's values are corrected, so that a correction is reported as
  one changed cell, not as a removed and an added row. It therefore leaves out the values that are
  updated between cuts (an AE's end date, an EX record's dates, a DS record's epoch) and uses the
  sponsor's ``--SEQ`` where it is the stable identifier (EX, PC, AE), test and date elsewhere; the
  later keys are fallbacks for exports where the first one repeats (same-time lab retests).

Both live here so that a variable renamed in the contract (docs/datasets.md, section 1) is renamed
for both; ``tests/test_keys.py`` checks that every key uses only variables of the domain's contract.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The subject identifier, the first variable of every key.
SUBJECT = "USUBJID"

#: Qualifier and timing variables (without the domain prefix) added to a findings domain's
#: natural key when present: category, specimen, position, location, visit, time point, date.
KEY_QUALIFIERS: tuple[str, ...] = ("CAT", "SCAT", "SPEC", "POS", "LOC", "VISITNUM", "TPTNUM", "DTC")


@dataclass(frozen=True)
class DomainKeys:
    """The keys of one domain (see the module docstring for what each is for)."""

    domain: str
    base: tuple[str, ...] = (SUBJECT,)
    qualifiers: tuple[str, ...] = ()
    seq: str | None = None
    record: tuple[tuple[str, ...], ...] = ((SUBJECT,),)

    @property
    def natural(self) -> tuple[str, ...]:
        """The natural key when every qualifier is present."""
        return (*self.base, *self.qualifiers)


def findings_qualifiers(prefix: str) -> tuple[str, ...]:
    """:data:`KEY_QUALIFIERS` of a findings domain (``VISITNUM`` has no prefix).

    >>> findings_qualifiers("VS")[:2], findings_qualifiers("VS")[-3:]
    (('VSCAT', 'VSSCAT'), ('VISITNUM', 'VSTPTNUM', 'VSDTC'))
    """
    return tuple(q if q == "VISITNUM" else prefix + q for q in KEY_QUALIFIERS)


def _findings(domain: str, record: tuple[tuple[str, ...], ...]) -> DomainKeys:
    prefix = domain.upper()
    return DomainKeys(
        domain,
        base=(SUBJECT, f"{prefix}TESTCD"),
        qualifiers=findings_qualifiers(prefix),
        seq=f"{prefix}SEQ",
        record=record,
    )


KEYS: dict[str, DomainKeys] = {
    "dm": DomainKeys("dm"),
    "ex": DomainKeys(
        "ex",
        base=(SUBJECT, "EXTRT"),
        qualifiers=("EXSTDTC",),
        seq="EXSEQ",
        record=((SUBJECT, "EXSEQ"),),
    ),
    # a vital sign or questionnaire result is matched by test and date (VSSEQ/QSSEQ are optional)
    "vs": _findings("vs", ((SUBJECT, "VSTESTCD", "VSDTC"), (SUBJECT, "VSTESTCD", "VSDTC", "VISIT"))),
    # a lab result by test and date; LBSEQ when a test was repeated at the same date-time
    "lb": _findings("lb", ((SUBJECT, "LBTESTCD", "LBDTC"), (SUBJECT, "LBSEQ"))),
    "pc": _findings("pc", ((SUBJECT, "PCSEQ"),)),
    "qs": _findings("qs", ((SUBJECT, "QSTESTCD", "QSDTC"),)),
    "ae": DomainKeys(
        "ae",
        base=(SUBJECT, "AETERM", "AEDECOD"),
        qualifiers=("AESTDTC", "AEENDTC"),
        seq="AESEQ",
        record=((SUBJECT, "AESEQ"),),
    ),
    # DSSEQ is optional: a disposition event is matched by its category and decoded term
    "ds": DomainKeys(
        "ds",
        qualifiers=("DSSCAT", "EPOCH"),
        seq="DSSEQ",
        record=((SUBJECT, "DSSCAT", "DSDECOD"), (SUBJECT, "DSDECOD")),
    ),
}


def record_keys(domain: str) -> tuple[tuple[str, ...], ...]:
    """The record keys of ``domain``, in the order tried (none for an unknown domain).

    >>> record_keys("lb")
    (('USUBJID', 'LBTESTCD', 'LBDTC'), ('USUBJID', 'LBSEQ'))
    """
    keys = KEYS.get(domain)
    return keys.record if keys else ()
