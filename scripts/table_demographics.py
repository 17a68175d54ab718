"""Rule table_demographics: stats/ard.csv + ADSL -> demographics and baseline characteristics (CSV + HTML)."""

from fcrnpipe.runner import run
from fcrnpipe.stats import read_ard
from fcrnpipe.tableio import read_parquet
from fcrnpipe.tables import demographics_table, write_outputs


def main(smk):
    p = smk.params
    adsl = read_parquet(smk.input.adsl)
    table = demographics_table(adsl, p.arms, ard=read_ard(smk.input.ard), treatment=p.treatment, data_cut=p.data_cut, overall_label=p.overall_label)
    write_outputs(table, smk.output.csv, smk.output.html)


run(main, snakemake)  # noqa: F821
