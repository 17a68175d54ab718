"""Rule figure_aqp4_titre: AQP4-IgG titre over time per subject (PNG + SVG)."""

from fcrnpipe.figures import plot_aqp4_titre, save
from fcrnpipe.runner import run
from fcrnpipe.tableio import read_parquet


def main(smk):
    p = smk.params
    fig = plot_aqp4_titre(
        read_parquet(smk.input.adlb), read_parquet(smk.input.adsl), p.arms, p.dosing_days, data_cut=p.data_cut, treatment=p.treatment
    )
    save(fig, smk.output.png, smk.output.svg)


run(main, snakemake)  # noqa: F821
