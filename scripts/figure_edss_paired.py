"""Rule figure_edss_paired: EDSS at baseline and the primary visit, paired per subject (PNG + SVG)."""

from fcrnpipe.figures import plot_edss_paired, save
from fcrnpipe.runner import run
from fcrnpipe.stats import read_ard
from fcrnpipe.tableio import read_parquet


def main(smk):
    p = smk.params
    fig = plot_edss_paired(
        read_parquet(smk.input.adedss),
        read_parquet(smk.input.adsl),
        p.arms,
        p.primary_visit,
        overall=p.overall,
        data_cut=p.data_cut,
        ard=read_ard(smk.input.ard),
    )
    save(fig, smk.output.png, smk.output.svg)


run(main, snakemake)  # noqa: F821
