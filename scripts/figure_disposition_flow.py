"""Rule figure_disposition_flow: CONSORT-style subject flow (PNG + SVG); the counts from the ARD part
stats/parts/disposition.csv."""

from fcrnpipe.figures import plot_disposition_flow, save
from fcrnpipe.runner import run
from fcrnpipe.stats import read_ard


def main(smk):
    p = smk.params
    fig = plot_disposition_flow(
        None, p.arms, overall=p.overall, treatment=p.treatment.lower(), data_cut=p.data_cut, ard=read_ard(smk.input.ard)
    )
    save(fig, smk.output.png, smk.output.svg)


run(main, snakemake)  # noqa: F821
