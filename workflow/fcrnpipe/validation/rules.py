"""The rule registry of the validation stage: every rule id with its severity and what it checks.

Kept apart from :mod:`fcrnpipe.validation.schemas` (which needs pandera) so that the jobs that
only read or report findings -- the gates, the report, the failures table -- stay light.
"""

from __future__ import annotations

#: Rule id -> (severity, what it checks). The report lists them; failures.csv carries both.
RULE_TABLE: dict[str, tuple[str, str]] = {
    "file_missing": ("error", "the data cut has an export for the domain (<domain>.csv or <domain>.xpt)"),
    "file_empty": ("error", "the export is not empty (0 bytes or blank)"),
    "header_only": ("error", "the export has at least one data row"),
    "wrong_delimiter": ("error", "CSV exports are comma-separated (not ';', tab or '|')"),
    "not_utf8": ("error", "the export is UTF-8 encoded"),
    "csv_syntax": ("error", "the CSV is syntactically valid (quotes balanced)"),
    "ragged_row": ("error", "every CSV row has as many fields as the header"),
    "duplicate_column": ("error", "no column name appears twice (names compared upper-cased)"),
    "column_name": ("error", "every header column has a name"),
    "xpt_unreadable": ("error", "a .xpt export is a readable SAS transport file"),
    "file_format": ("error", "the export is .csv or .xpt"),
    "direct_identifier": ("error", "no column identifies a person directly (NAME, INITIALS, ADDRESS, MRN, ...)"),
    "required_column": ("error", "every required variable of the domain is present"),
    "required_value": ("error", "required variables of the used records are not empty (except where the contract allows it)"),
    "value_missing": ("warning", "AEDECOD, AEBODSYS, AEREL, AEACN have a value (else shown as not coded / unknown)"),
    "numeric": ("error", "numeric variables (AGE, --SEQ, EXDOSE, VSORRES, VISITNUM, PCLLOQ, AETOXGR, ...) are numbers"),
    "integer": ("error", "sequence numbers (--SEQ) are whole numbers"),
    "range": ("error", "AGE 0-120, EXDOSE >= 0, PCORRES >= 0, PCLLOQ > 0, EDSS 0-10, AETOXGR integer 1-5"),
    "edss_half_step": ("error", "scores of the efficacy scale (EDSS) are multiples of 0.5"),
    "controlled_term": ("error", "coded variables the analysis reads use their terms (SEX, AGEU, ARMCD, EXTRT, EXDOSU, AESER, AESEV, AEREL, AEACN, DSSCAT)"),
    "cdisc_term": ("warning", "EXROUTE and DSDECOD of disposition events are terms of the extensible CDISC codelists ROUTE and NCOMPLT"),
    "iso8601": ("error", "dates are ISO 8601 as SDTMIG allows them; complete where the analysis needs a date"),
    "date_order": ("error", "RFSTDTC is on or before RFENDTC"),
    "unique_key": ("error", "the natural key of the used records identifies one record; --SEQ is unique per subject"),
    "unit_known": ("error", "units of used records are listed for the test in the unit table, case-insensitively (and given when there is a result)"),
    "result_form": ("error", "LBORRES has the form allowed by the test's result_type; PCORRES is a number, <LLOQ, BLQ or <x"),
    "plausibility": ("warning", "values of WEIGHT, HEIGHT, IGG, ALB, CHOL, LDL lie in a plausible range (standard units)"),
    "orphan_subject": ("error", "every USUBJID of the used records exists in DM"),
    "exposure_after_rfstdtc": ("error", "exposure (EXSTDTC) is on or after RFSTDTC (date part)"),
    "date_in_study_period": ("warning", "dates lie in [RFSTDTC - screening window, RFPENDTC] (RFENDTC + follow-up grace without RFPENDTC)"),
    "baseline_igg": ("error", "each subject dosed with the study drug has a non-missing IgG on or before the first dose"),
    "required_test": ("error", "the tests/instruments the analysis needs (IgG, the PK analyte, the efficacy scale) have records"),
    "set_aside": ("notice", "records of tests, instruments, specimens or categories the analysis does not use are set aside unvalidated"),
    "not_assigned": ("notice", "screen failures / subjects not assigned to an arm stay in DM and leave the analysis sets"),
    "severity_scale": ("notice", "AESEV (mild/moderate/severe) is used because AE has no AETOXGR (CTCAE grade)"),
    "identifier_dropped": ("notice", "BRTHDTC is read and checked, never written to any output"),
}  # fmt: skip
#: Rule id -> what it checks.
RULES: dict[str, str] = {k: v[1] for k, v in RULE_TABLE.items()}
#: Rule id -> severity (error | warning | notice).
SEVERITY: dict[str, str] = {k: v[0] for k, v in RULE_TABLE.items()}


def severity_of(check: str) -> str:
    """The severity of a rule id (unknown ids are errors)."""
    return SEVERITY.get(check, "error")
