"""Endpoint statistics: exact CIs, signed-rank test, Hodges-Lehmann, safety/PD/efficacy summaries.

One function per rule part (``ae_part``, ``lab_part``, ``disposition_part``, ``pd_part``,
``edss_endpoints``; ``disposition_display_part`` for the numbers only tables show) returns
endpoint rows (:data:`ENDPOINT_COLUMNS`); ``gather_endpoints`` merges them, ``build_ard`` turns
each part into its share of the analysis results dataset (``part_ard`` -> ``stats/parts/<part>.csv``),
``gather_ard`` into ``results/stats/ard.csv`` (:mod:`fcrnpipe.stats.ard`), from which
``results/stats/endpoints.csv`` is derived (``endpoints_from_ard``); ``published_vs_reproduced`` compares the
pipeline's values with the published findings.
"""

from fcrnpipe.stats.ard import ARD_COLUMNS, build_ard, endpoints_from_ard, gather_ard, part_ard, read_ard
from fcrnpipe.stats.ci import clopper_pearson, t_interval
from fcrnpipe.stats.demographics import disposition_display_part
from fcrnpipe.stats.descriptive import ENDPOINT_COLUMNS, OVERALL, describe
from fcrnpipe.stats.disposition import disposition, disposition_part, exposure, exposure_per_subject
from fcrnpipe.stats.efficacy import aqp4_endpoints, edss_endpoints, igg_endpoints, pd_part
from fcrnpipe.stats.gather import gather_endpoints
from fcrnpipe.stats.published import PUBLISHED_COLUMNS, published_comparison, published_vs_reproduced
from fcrnpipe.stats.safety import ae_part, ctcae_max_grades, lab_part, teae_by_term, teae_overview
from fcrnpipe.stats.wilcoxon import hodges_lehmann, signed_rank_test, walsh_averages

__all__ = [
    "ARD_COLUMNS",
    "ENDPOINT_COLUMNS",
    "OVERALL",
    "PUBLISHED_COLUMNS",
    "ae_part",
    "aqp4_endpoints",
    "build_ard",
    "clopper_pearson",
    "ctcae_max_grades",
    "describe",
    "disposition",
    "disposition_display_part",
    "disposition_part",
    "edss_endpoints",
    "endpoints_from_ard",
    "exposure",
    "exposure_per_subject",
    "gather_ard",
    "gather_endpoints",
    "hodges_lehmann",
    "igg_endpoints",
    "lab_part",
    "part_ard",
    "pd_part",
    "published_comparison",
    "published_vs_reproduced",
    "read_ard",
    "signed_rank_test",
    "t_interval",
    "teae_by_term",
    "teae_overview",
    "walsh_averages",
]
