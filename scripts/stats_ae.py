"""Rule stats_ae: ADSL + ADAE -> the ARD part stats/parts/ae.csv: TEAE overview and TEAE by SOC/PT
(endpoint rows), the SOC/PT table's maximum-grade counts (display rows)."""

from fcrnpipe.runner import run
from fcrnpipe.stats import ae_part, part_ard
from fcrnpipe.stats.safety import ae_display_part
from fcrnpipe.tableio import read_parquet, write_csv


def main(smk):
    adsl, adae = read_parquet(smk.input.adsl), read_parquet(smk.input.adae)
    p = smk.params
    ard = part_ard(ae_part(adsl, adae, p.arms), ae_display_part(adsl, adae, p.arms), p.arms, p.visits)
    write_csv(ard, smk.output.part)


run(main, snakemake)  # noqa: F821
