"""Rule figure_ae_swimmer: adverse events over time per subject (PNG + SVG)."""

from fcrnpipe.figures import plot_ae_swimmer, save
from fcrnpipe.runner import run
from fcrnpipe.tableio import read_parquet


def main(smk):
    p = smk.params
    fig = plot_ae_swimmer(
        read_parquet(smk.input.adae),
        read_parquet(smk.input.adsl),
        read_parquet(smk.input.adex),
        p.arms,
        treatment=p.treatment,
        data_cut=p.data_cut,
    )
    save(fig, smk.output.png, smk.output.svg)


run(main, snakemake)  # noqa: F821
