"""Rule stats_ae: ADSL + ADAE -> TEAE overview and TEAE by SOC/PT (stats/parts/ae.csv); the SOC/PT
table's maximum-grade counts (display rows of the ARD: stats/parts/ae_display.csv)."""

from fcrnpipe.runner import run
from fcrnpipe.stats import ae_part
from fcrnpipe.stats.safety import ae_display_part
from fcrnpipe.tableio import read_parquet, write_csv


def main(smk):
    adsl, adae = read_parquet(smk.input.adsl), read_parquet(smk.input.adae)
    write_csv(ae_part(adsl, adae, smk.params.arms), smk.output.part)
    write_csv(ae_display_part(adsl, adae, smk.params.arms), smk.output.display)


run(main, snakemake)  # noqa: F821
