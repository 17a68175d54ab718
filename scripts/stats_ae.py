"""Rule stats_ae: ADSL + ADAE -> TEAE overview and TEAE by SOC/PT (stats/parts/ae.csv)."""

from fcrnpipe.runner import run
from fcrnpipe.stats import ae_part
from fcrnpipe.tableio import read_parquet, write_csv


def main(smk):
    part = ae_part(read_parquet(smk.input.adsl), read_parquet(smk.input.adae), smk.params.arms)
    write_csv(part, smk.output.part)


run(main, snakemake)  # noqa: F821
