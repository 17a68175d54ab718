"""Rule stats_pd: ADSL + ADLB -> total IgG and AQP4-IgG endpoints (stats/parts/pd.csv)."""

from fcrnpipe.runner import run
from fcrnpipe.stats import pd_part
from fcrnpipe.tableio import read_parquet, write_csv


def main(smk):
    part = pd_part(read_parquet(smk.input.adsl), read_parquet(smk.input.adlb), smk.params.arms)
    write_csv(part, smk.output.part)


run(main, snakemake)  # noqa: F821
