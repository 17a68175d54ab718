"""Rule nca: ADPC + ADEX + ADSL -> NCA parameters, their summary by arm, dose proportionality."""

from fcrnpipe.nca import NCAOptions, dose_proportionality, run_nca, summarise_nca
from fcrnpipe.runner import run
from fcrnpipe.tableio import read_parquet, write_csv


def main(smk):
    p = smk.params
    adpc, adex, adsl = (read_parquet(f) for f in (smk.input.adpc, smk.input.adex, smk.input.adsl))
    options = NCAOptions.from_config(p.auc_method, p.lambda_z, p.blq, treatment=p.treatment, analyte=p.analyte)
    nca = run_nca(adpc, adex, adsl, p.intervals, options)
    write_csv(nca, smk.output.nca)
    write_csv(summarise_nca(nca, adsl), smk.output.summary)
    write_csv(dose_proportionality(nca, adsl), smk.output.dose_proportionality)


run(main, snakemake)  # noqa: F821
