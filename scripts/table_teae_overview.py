"""Rule table_teae_overview: stats/ard.csv + ADSL + ADAE -> overview of TEAEs (CSV + HTML)."""

from fcrnpipe.runner import run
from fcrnpipe.stats import read_ard
from fcrnpipe.tableio import read_parquet
from fcrnpipe.tables import teae_overview_table, write_outputs


def main(smk):
    p = smk.params
    adsl = read_parquet(smk.input.adsl)
    adae = read_parquet(smk.input.adae)
    table = teae_overview_table(adsl, adae, p.arms, ard=read_ard(smk.input.ard), treatment=p.treatment, data_cut=p.data_cut, overall_label=p.overall_label)
    write_outputs(table, smk.output.csv, smk.output.html)


run(main, snakemake)  # noqa: F821
