"""CSR-style tables: data frames and display rows rendered from the analysis results dataset.

Each builder returns a :class:`Table`: title, population, columns (arms with N, then overall),
display rows (formatted strings, see :mod:`fcrnpipe.tables.format`), footnotes, the data cut
and ``data`` — the machine-readable, unrounded table written as CSV.

Every number of the endpoint tables (demographics, disposition, exposure, TEAE overview and by
SOC/PT, CTCAE shifts, albumin, cholesterol, IgG, AQP4-IgG, EDSS) and every header N is read from
the ARD (:mod:`fcrnpipe.stats.ard`) passed as ``ard=``; the builders do not compute statistics.
Without ``ard`` (library use, unit tests) they compute the ARD rows they need with the
functions of the stats stage first and render from those. ADaM is read only for labels (units,
the AE severity scale, the parameters present).

The builders live in one module per domain: :mod:`~fcrnpipe.tables.core` (structure, ARD input,
blocks), :mod:`~fcrnpipe.tables.population`, :mod:`~fcrnpipe.tables.safety`,
:mod:`~fcrnpipe.tables.efficacy`, :mod:`~fcrnpipe.tables.pk`, :mod:`~fcrnpipe.tables.published`;
this module re-exports them.
"""

from fcrnpipe.tables.core import (  # noqa: F401
    ABBREVIATIONS,
    ArmsArg,
    Column,
    DISPLAY_FOOTNOTE,
    Grid,
    Row,
    SOURCE,
    TRACE_COLUMNS,
    Table,
    Values,
    ard_endpoints,
    ard_key,
    ard_of,
    arm_columns,
    armcds,
    build_table,
    continuous_block,
    count_block,
    ep_values,
    footnotes,
    population_text,
    set_counts,
)
from fcrnpipe.tables.population import (  # noqa: F401
    DEMOGRAPHICS_ROWS,
    demographics_table,
    disposition_table,
    exposure_table,
)
from fcrnpipe.tables.safety import (  # noqa: F401
    OVERVIEW_LABELS,
    SHIFT_DATA_COLUMNS,
    lab_shift_table,
    teae_overview_table,
    teae_soc_pt_table,
)
from fcrnpipe.tables.efficacy import (  # noqa: F401
    PARAM_NAMES,
    albumin_table,
    aqp4_table,
    cholesterol_table,
    edss_table,
    igg_table,
    lab_decimals,
    lab_param_table,
)
from fcrnpipe.tables.pk import (  # noqa: F401
    KIND_TITLES,
    NCA_SUMMARY_COLUMNS,
    NCA_SUMMARY_COUNTS,
    POPPK_COLUMNS,
    nca_reason_notes,
    nca_summary_table,
    pkpd_parameters_table,
)
from fcrnpipe.tables.published import (  # noqa: F401
    published_table,
)

__all__ = [
    "ABBREVIATIONS",
    "ArmsArg",
    "Column",
    "DEMOGRAPHICS_ROWS",
    "DISPLAY_FOOTNOTE",
    "Grid",
    "KIND_TITLES",
    "NCA_SUMMARY_COLUMNS",
    "NCA_SUMMARY_COUNTS",
    "OVERVIEW_LABELS",
    "PARAM_NAMES",
    "POPPK_COLUMNS",
    "Row",
    "SHIFT_DATA_COLUMNS",
    "SOURCE",
    "TRACE_COLUMNS",
    "Table",
    "Values",
    "albumin_table",
    "aqp4_table",
    "ard_endpoints",
    "ard_key",
    "ard_of",
    "arm_columns",
    "armcds",
    "build_table",
    "cholesterol_table",
    "continuous_block",
    "count_block",
    "demographics_table",
    "disposition_table",
    "edss_table",
    "ep_values",
    "exposure_table",
    "footnotes",
    "igg_table",
    "lab_decimals",
    "lab_param_table",
    "lab_shift_table",
    "nca_reason_notes",
    "nca_summary_table",
    "pkpd_parameters_table",
    "population_text",
    "published_table",
    "set_counts",
    "teae_overview_table",
    "teae_soc_pt_table",
]
