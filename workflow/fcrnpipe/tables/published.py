"""The published-vs-reproduced table."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from fcrnpipe.findings import Finding
from fcrnpipe.stats import descriptive as D
from fcrnpipe.stats.ard import ARD_KEY
from fcrnpipe.stats.published import PUBLISHED_COLUMNS, VALUE_COLUMNS, default_findings
from fcrnpipe.tables.core import (
    TRACE_COLUMNS,
    Column,
    Row,
    Table,
)


def published_data(published: pd.DataFrame, values: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table's CSV: per finding (columns :data:`PUBLISHED_COLUMNS`) one row per number its
    reproduced value shows (``value``, unrounded, and the key of its ARD row; one row without a
    number when it shows none), and the :attr:`Table.trace` of those numbers."""
    cols = [*PUBLISHED_COLUMNS, *VALUE_COLUMNS[1:]]
    if values is None:
        values = pd.DataFrame(columns=VALUE_COLUMNS)
    D.require_columns(values, VALUE_COLUMNS, "published_vs_reproduced values")
    by_finding = {f: g for f, g in values.groupby("finding", sort=False)}
    records: list[dict] = []
    for r in published[PUBLISHED_COLUMNS].to_dict("records"):
        g = by_finding.get(r["finding"])
        numbers = g[VALUE_COLUMNS[1:]].to_dict("records") if g is not None else [{"value": float("nan")}]
        records += [{**r, **v} for v in numbers]
    data = pd.DataFrame(records, columns=cols)
    data["value"] = data["value"].astype(float)
    for c in ARD_KEY:
        data[c] = data[c].fillna("").astype(str)
    traced = data[data["endpoint"] != ""]
    trace = pd.DataFrame(
        [(i, "value", *k) for i, *k in zip(traced.index, *(traced[c] for c in ARD_KEY))], columns=TRACE_COLUMNS
    )
    return data, trace


# ------------------------------------------------------------------- published vs reproduced
def published_table(
    published: pd.DataFrame,
    values: pd.DataFrame | None = None,
    *,
    data_cut: str = "",
    findings: Mapping[str, Finding] | None = None,
) -> Table:
    """The published findings next to the reproduced values (``tables/published_vs_reproduced``);
    ``findings`` (default: the shipped ``resources/published_findings.yaml``) give the tolerances
    quoted in the footnotes. ``values``: the numbers each reproduced value shows with their ARD
    keys (:func:`fcrnpipe.stats.published.published_comparison`): the CSV has one row per number
    (:func:`published_data`), each traced to its ARD row (:attr:`Table.trace`)."""
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
    data, trace = published_data(published, values)
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
        data=data,
        data_cut=data_cut,
        label_header="Finding",
        stat_header="",
        trace=trace,
    )
