"""Rule figure_disposition_flow: CONSORT-style subject flow from ADSL (PNG + SVG)."""

from fcrnpipe.figures import plot_disposition_flow, save
from fcrnpipe.runner import run
from fcrnpipe.tableio import read_parquet


def main(smk):
    p = smk.params
    fig = plot_disposition_flow(
        read_parquet(smk.input.adsl), p.arms, overall=p.overall, treatment=p.treatment.lower(), data_cut=p.data_cut
    )
    save(fig, smk.output.png, smk.output.svg)


run(main, snakemake)  # noqa: F821
