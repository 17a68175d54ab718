"""Rule table_edss: stats/ard.csv + ADSL + ADEDSS -> EDSS by visit, signed-rank test, Hodges-Lehmann (CSV + HTML)."""

from fcrnpipe.runner import run
from fcrnpipe.stats import read_ard
from fcrnpipe.tableio import read_parquet
from fcrnpipe.tables import edss_table, write_outputs


def main(smk):
    p = smk.params
    adsl = read_parquet(smk.input.adsl)
    adedss = read_parquet(smk.input.adedss)
    table = edss_table(
        adsl, adedss, p.arms, p.primary_visit, p.improvement, ard=read_ard(smk.input.ard), treatment=p.treatment, data_cut=p.data_cut, overall_label=p.overall_label
    )
    write_outputs(table, smk.output.csv, smk.output.html)


run(main, snakemake)  # noqa: F821
