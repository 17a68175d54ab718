"""Rule pkpd_eta: distributions of the random effects (EBEs) against N(0, omega^2)."""

from fcrnpipe.pkpd.stage import eta_figure
from fcrnpipe.runner import run


def main(smk):
    i = smk.input
    eta_figure(i.individual, i.pk_population, i.pd_population, i.pd_summary, dict(smk.output.items()),
               arms=smk.params.arms, data_cut=smk.params.data_cut)


run(main, snakemake)  # noqa: F821
