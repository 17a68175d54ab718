"""Rule figure: one figure by name (wildcard ``name``) -> PNG + SVG; the builder adapter is the
name's entry of fcrnpipe.figures.registry."""

from fcrnpipe.figures import save
from fcrnpipe.figures.registry import build_figure
from fcrnpipe.runner import run


def main(smk):
    save(build_figure(smk), smk.output.png, smk.output.svg)


run(main, snakemake)  # noqa: F821
