"""Rule table_exposure: stats/ard.csv + ADSL + ADEX -> exposure to batoclimab (CSV + HTML)."""

from fcrnpipe.runner import run
from fcrnpipe.stats import read_ard
from fcrnpipe.tableio import read_parquet
from fcrnpipe.tables import exposure_table, write_outputs


def main(smk):
    p = smk.params
    adsl = read_parquet(smk.input.adsl)
    adex = read_parquet(smk.input.adex)
    table = exposure_table(
        adsl, adex, p.arms, p.treatment, ard=read_ard(smk.input.ard), data_cut=p.data_cut, overall_label=p.overall_label, placebo=p.placebo
    )
    write_outputs(table, smk.output.csv, smk.output.html)


run(main, snakemake)  # noqa: F821
