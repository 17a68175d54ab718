"""Controlled terminology used by the validation rules (docs/datasets.md, section 1), and
:func:`not_assigned` (which DM subjects are screen failures / not assigned to an arm).

CDISC SDTM codelists (submission values) where SDTM has one, the terms the analysis needs where
it defines its own, and the plausibility ranges behind the ``plausibility`` warnings. Sponsor-
defined terms (AEREL, the arms, the treatments) come from the config, not from here.

Extensible CDISC codelists (ROUTE, NCOMPLT) may carry sponsor terms: a value outside the list is
a *warning* (``cdisc_term``); the lists the analysis depends on (ACN, AESEV, NY, SEX, ...) are
*errors* (``controlled_term``).
"""

from __future__ import annotations

import pandas as pd

from fcrnpipe.validation.columns import upper

#: CDISC ROUTE (C66729), route of administration (extensible).
ROUTE: tuple[str, ...] = (
    "AURICULAR (OTIC)", "BUCCAL", "CONJUNCTIVAL", "CUTANEOUS", "DENTAL", "ELECTRO-OSMOSIS", "ENDOCERVICAL",
    "ENDOSINUSIAL", "ENDOTRACHEAL", "ENTERAL", "EPIDURAL", "EXTRA-AMNIOTIC", "EXTRACORPOREAL", "HEMODIALYSIS",
    "INFILTRATION", "INTERSTITIAL", "INTRA-ABDOMINAL", "INTRA-AMNIOTIC", "INTRA-ARTERIAL", "INTRA-ARTICULAR",
    "INTRABILIARY", "INTRABRONCHIAL", "INTRABURSAL", "INTRACAMERAL", "INTRACARDIAC", "INTRACARTILAGINOUS",
    "INTRACAUDAL", "INTRACAVERNOUS", "INTRACAVITARY", "INTRACEREBRAL", "INTRACISTERNAL", "INTRACORNEAL",
    "INTRACORONAL, DENTAL", "INTRACORONARY", "INTRACORPORUS CAVERNOSUM", "INTRADERMAL", "INTRADISCAL",
    "INTRADUCTAL", "INTRADUODENAL", "INTRADURAL", "INTRAEPIDERMAL", "INTRAESOPHAGEAL", "INTRAGASTRIC",
    "INTRAGINGIVAL", "INTRAILEAL", "INTRALESIONAL", "INTRALUMINAL", "INTRALYMPHATIC", "INTRAMEDULLARY",
    "INTRAMENINGEAL", "INTRAMUSCULAR", "INTRAOCULAR", "INTRAOVARIAN", "INTRAPERICARDIAL", "INTRAPERITONEAL",
    "INTRAPLEURAL", "INTRAPROSTATIC", "INTRAPULMONARY", "INTRASINAL", "INTRASPINAL", "INTRASYNOVIAL",
    "INTRATENDINOUS", "INTRATESTICULAR", "INTRATHECAL", "INTRATHORACIC", "INTRATUBULAR", "INTRATUMOR",
    "INTRATYMPANIC", "INTRAUTERINE", "INTRAVASCULAR", "INTRAVENOUS", "INTRAVENOUS BOLUS", "INTRAVENOUS DRIP",
    "INTRAVENTRICULAR", "INTRAVESICAL", "INTRAVITREAL", "IONTOPHORESIS", "IRRIGATION", "LARYNGEAL", "NASAL",
    "NASOGASTRIC", "NOT APPLICABLE", "OCCLUSIVE DRESSING TECHNIQUE", "OPHTHALMIC", "ORAL", "OROPHARYNGEAL",
    "OTHER", "PARENTERAL", "PERCUTANEOUS", "PERIARTICULAR", "PERIDURAL", "PERINEURAL", "PERIODONTAL",
    "RECTAL", "RESPIRATORY (INHALATION)", "RETROBULBAR", "SOFT TISSUE", "SUBARACHNOID", "SUBCONJUNCTIVAL",
    "SUBCUTANEOUS", "SUBLINGUAL", "SUBMUCOSAL", "TOPICAL", "TRANSDERMAL", "TRANSMUCOSAL", "TRANSPLACENTAL",
    "TRANSTRACHEAL", "TRANSTYMPANIC", "UNASSIGNED", "UNKNOWN", "URETERAL", "URETHRAL", "VAGINAL",
)  # fmt: skip

#: CDISC NCOMPLT (C66727), completion/reason for non-completion (extensible); DSDECOD of
#: disposition events (DSCAT = DISPOSITION EVENT). Older and newer spellings both listed.
NCOMPLT: tuple[str, ...] = (
    "ADVERSE EVENT", "COMPLETED", "DEATH", "DISEASE RELAPSE", "FAILURE TO MEET CONTINUATION CRITERIA",
    "FAILURE TO MEET RANDOMIZATION CRITERIA", "LACK OF EFFICACY", "LOST TO FOLLOW-UP",
    "NON-COMPLIANCE WITH STUDY DRUG", "OTHER", "PHYSICIAN DECISION", "PREGNANCY", "PROGRESSIVE DISEASE",
    "PROTOCOL DEVIATION", "PROTOCOL VIOLATION", "RECOVERY", "SCREEN FAILURE", "SITE TERMINATED BY SPONSOR",
    "STUDY TERMINATED BY SPONSOR", "TECHNICAL PROBLEMS", "WITHDRAWAL BY PARENT/GUARDIAN",
    "WITHDRAWAL BY SUBJECT", "WITHDRAWAL OF CONSENT",
)  # fmt: skip

#: CDISC ACN (C66767), action taken with study treatment (AEACN).
ACN: tuple[str, ...] = (
    "DOSE INCREASED",
    "DOSE NOT CHANGED",
    "DOSE RATE REDUCED",
    "DOSE REDUCED",
    "DRUG INTERRUPTED",
    "DRUG WITHDRAWN",
    "NOT APPLICABLE",
    "UNKNOWN",
)
#: CDISC AESEV (C66769), severity/intensity of an adverse event.
AESEV: tuple[str, ...] = ("MILD", "MODERATE", "SEVERE")
#: CDISC NY (C66742): AESER and other Y/N variables.
NY: tuple[str, ...] = ("Y", "N", "U", "NA")
#: CDISC SEX (C66731).
SEX: tuple[str, ...] = ("F", "M", "U", "UNDIFFERENTIATED")
#: AGEU: the analysis reports ages in years.
AGEU: tuple[str, ...] = ("YEARS",)
#: EXDOSU: the analysis sums doses in mg.
EXDOSU: tuple[str, ...] = ("mg",)
#: DSSCAT of the two disposition levels the analysis reads (sponsor-defined in SDTM).
DSSCAT: tuple[str, ...] = ("STUDY TREATMENT", "STUDY PARTICIPATION")
#: DSCAT of the records the analysis uses (others -- protocol milestones, other events -- are set aside).
DISPOSITION_EVENT = "DISPOSITION EVENT"

#: ARMCD of subjects not assigned to an arm (SDTMIG: screen failures, not assigned), compared
#: upper-cased. SDTMIG 3.3+ leaves ARMCD empty and fills ARMNRS instead; both are recognised.
NOT_ASSIGNED_ARMCD: tuple[str, ...] = ("SCRNFAIL", "NOTASSGN")

#: Specimens of the records the analysis uses (LBSPEC/PCSPEC; an empty or absent specimen counts).
BLOOD_SPECIMENS: tuple[str, ...] = ("SERUM", "PLASMA", "BLOOD", "WHOLE BLOOD", "SERUM OR PLASMA")

#: PCORRES text for a concentration below the LLOQ (compared upper-cased), besides ``<x``.
PC_BLQ_TERMS: tuple[str, ...] = ("<LLOQ", "BLQ", "<BLQ", "BLOQ", "<LOQ")
#: LBORRES words of a titre result (compared upper-cased).
TITRE_WORDS: tuple[str, ...] = ("NEGATIVE", "POSITIVE")

#: Plausibility ranges in the standard unit (``plausibility`` warnings): a value outside is
#: reported and the run goes on (a unit mix-up or a typo, not necessarily an error).
PLAUSIBLE: dict[tuple[str, str], tuple[float, float]] = {
    ("VS", "WEIGHT"): (20.0, 300.0),  # kg
    ("VS", "HEIGHT"): (100.0, 230.0),  # cm
    ("LB", "IGG"): (0.5, 60.0),  # g/L
    ("LB", "ALB"): (5.0, 70.0),  # g/L
    ("LB", "CHOL"): (0.5, 30.0),  # mmol/L
    ("LB", "LDL"): (0.1, 25.0),  # mmol/L
}


def not_assigned(dm: pd.DataFrame) -> pd.Series:
    """Boolean per DM row: the subject is not assigned to an arm (ARMCD SCRNFAIL/NOTASSGN, any case,
    or ARMCD empty with ARMNRS given)."""
    armcd = dm["ARMCD"] if "ARMCD" in dm.columns else pd.Series(None, index=dm.index, dtype=object)
    code = upper(armcd).isin(set(NOT_ASSIGNED_ARMCD)).fillna(False).astype(bool)
    if "ARMNRS" in dm.columns:
        code |= armcd.isna() & dm["ARMNRS"].notna()
    return code
