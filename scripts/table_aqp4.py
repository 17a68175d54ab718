"""Rule table_aqp4: stats/ard.csv + ADSL + ADLB -> AQP4-IgG titres by visit (CSV + HTML)."""

from fcrnpipe.runner import run
from fcrnpipe.stats import read_ard
from fcrnpipe.tableio import read_parquet
from fcrnpipe.tables import aqp4_table, write_outputs


def main(smk):
    p = smk.params
    adsl = read_parquet(smk.input.adsl)
    adlb = read_parquet(smk.input.adlb)
    table = aqp4_table(adsl, adlb, p.arms, ard=read_ard(smk.input.ard), data_cut=p.data_cut, overall_label=p.overall_label)
    write_outputs(table, smk.output.csv, smk.output.html)


run(main, snakemake)  # noqa: F821
