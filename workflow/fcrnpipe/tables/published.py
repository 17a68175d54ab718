"""The published-vs-reproduced table."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from fcrnpipe.findings import Finding
from fcrnpipe.stats import descriptive as D
from fcrnpipe.stats.published import PUBLISHED_COLUMNS, default_findings
from fcrnpipe.tables.core import (
    Column,
    Row,
    Table,
)


# ------------------------------------------------------------------- published vs reproduced
def published_table(
    published: pd.DataFrame, *, data_cut: str = "", findings: Mapping[str, Finding] | None = None
) -> Table:
    """The published findings next to the reproduced values (``tables/published_vs_reproduced``);
    ``findings`` (default: the shipped ``resources/published_findings.yaml``) give the tolerances
    quoted in the footnotes."""
    edss = (findings if findings is not None else default_findings())["edss_baseline"].check
    D.require_columns(published, PUBLISHED_COLUMNS, "published_vs_reproduced")
    cols = [
        Column("source", "Source"),
        Column("published", "Published"),
        Column("reproduced", "Reproduced"),
        Column("criterion", "Criterion"),
        Column("holds", "Holds"),
    ]
    rows = [
        Row(
            str(r["finding"]),
            "",
            {
                "source": str(r["source"]),
                "published": str(r["published"]),
                "reproduced": str(r["reproduced"]),
                "criterion": str(r["criterion"]),
                "holds": "Yes" if bool(r["holds"]) else "No",
            },
            1,
        )
        for _, r in published.iterrows()
    ]
    n_hold = int(published["holds"].astype(bool).sum())
    return Table(
        name="published_vs_reproduced",
        title="Published findings of the reference study and the values reproduced by this pipeline",
        population="As stated per finding (IgG: 680 mg arm, PD population; others: all arms)",
        columns=cols,
        rows=rows,
        footnotes=[
            f"{n_hold} of {len(published)} findings hold.",
            "Sources: abstract = Wang Y et al., Eur J Neurol 2023;30(1):195-203 (doi 10.1111/ene.15561); news summary "
            "= Rare Disease Advisor news brief on the study; derived = computed from published numbers (exact "
            "signed-rank p-value if every patient improved); assumption = plausible target not found in an "
            "accessible source (not a published result).",
            f"Tolerances: EDSS mean within {float(edss['mean_tolerance']):g} and SD within "
            f"{float(edss['sd_tolerance']):g} of the published value (published to one decimal); "
            "counts must match exactly; IgG and cholesterol targets as stated in the criterion.",
        ],
        data=published[PUBLISHED_COLUMNS].reset_index(drop=True),
        data_cut=data_cut,
        label_header="Finding",
        stat_header="",
    )
