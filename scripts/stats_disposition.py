"""Rule stats_disposition: ADSL + ADEX -> the ARD part stats/parts/disposition.csv: disposition and
exposure (endpoint rows), analysis-set sizes and demographics (display rows)."""

from fcrnpipe.runner import run
from fcrnpipe.stats import disposition_display_part, disposition_part, part_ard
from fcrnpipe.tableio import read_parquet, write_csv


def main(smk):
    adsl, adex = read_parquet(smk.input.adsl), read_parquet(smk.input.adex)
    p = smk.params
    endpoints = disposition_part(adsl, adex, p.arms, p.treatment, placebo=p.placebo)
    write_csv(part_ard(endpoints, disposition_display_part(adsl, p.arms), p.arms, p.visits), smk.output.part)


run(main, snakemake)  # noqa: F821
