"""Study labels of user-facing text (tables, figures) taken from the config, never hard-coded."""

from __future__ import annotations

#: The drug's name in text built without config ``study.treatment``.
DEFAULT_DRUG = "study drug"


def drug_name(treatment: str | None) -> str:
    """The study drug as printed in titles, axis labels and footnotes: config ``study.treatment``
    (its EXTRT) in lower case, :data:`DEFAULT_DRUG` if not given.

    >>> drug_name("BATOCLIMAB"), drug_name(None)
    ('batoclimab', 'study drug')
    """
    t = str(treatment or "").strip()
    return t.lower() if t else DEFAULT_DRUG


def drug_title(treatment: str | None) -> str:
    """:func:`drug_name` with a capital initial, for the start of a label.

    >>> drug_title("BATOCLIMAB")
    'Batoclimab'
    """
    name = drug_name(treatment)
    return name[:1].upper() + name[1:]
