"""Rule stats_disposition: ADSL + ADEX -> disposition and exposure (stats/parts/disposition.csv);
analysis-set sizes and demographics (display rows of the ARD: stats/parts/disposition_display.csv)."""

from fcrnpipe.runner import run
from fcrnpipe.stats import disposition_display_part, disposition_part
from fcrnpipe.tableio import read_parquet, write_csv


def main(smk):
    adsl, adex = read_parquet(smk.input.adsl), read_parquet(smk.input.adex)
    write_csv(
        disposition_part(adsl, adex, smk.params.arms, smk.params.treatment, placebo=smk.params.placebo), smk.output.part
    )
    write_csv(disposition_display_part(adsl, smk.params.arms), smk.output.display)


run(main, snakemake)  # noqa: F821
