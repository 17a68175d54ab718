"""Rule table_demographics: ADSL -> demographics and baseline characteristics (CSV + HTML)."""

from fcrnpipe.runner import run
from fcrnpipe.tableio import read_parquet
from fcrnpipe.tables import demographics_table, write_outputs


def main(smk):
    p = smk.params
    adsl = read_parquet(smk.input.adsl)
    table = demographics_table(adsl, p.arms, data_cut=p.data_cut, overall_label=p.overall_label)
    write_outputs(table, smk.output.csv, smk.output.html)


run(main, snakemake)  # noqa: F821
