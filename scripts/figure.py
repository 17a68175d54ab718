"""Rule figure: one figure by name (wildcard ``name``) -> PNG + SVG; the builder adapter is the
name's entry of fcrnpipe.figures.registry."""

from fcrnpipe.figures import save
from fcrnpipe.figures.registry import build_figure
from fcrnpipe.runner import run


def main(smk):
    params = {**smk.params.figure, "data_cut": smk.params.data_cut}
    save(build_figure(smk.wildcards.name, smk.input, params), smk.output.png, smk.output.svg)


run(main, snakemake)  # noqa: F821
