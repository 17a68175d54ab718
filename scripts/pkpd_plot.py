"""Rule pkpd_plot: one diagnostic plot of the final model by name (wildcard ``name``: gof_<endpoint>,
individual_fits_<endpoint>, eta_distributions) -> PNG + SVG; the adapter is the name's entry of
fcrnpipe.pkpd.registry."""

from fcrnpipe.pkpd.registry import build_plot
from fcrnpipe.runner import run


def main(smk):
    build_plot(smk)


run(main, snakemake)  # noqa: F821
